"""API keys: 256 random bits, shown once, stored as a SHA-256 digest; and their lifecycle.

An account manages only its own keys: every lookup is scoped by account in SQL, so another
account's key id is the same 404 as an unknown one. Revocation takes effect on the next
request in the process that revoked the key, and within ``TICKETBRIDGE_AUTH_CACHE_TTL_SECS``
in the others (``provisioning/cache.py``: known keys are cached per process). Rotation is immediate:
a new key, the old one revoked in the same transaction (no overlap; for a zero-downtime switch
create a second key, deploy it, then revoke the first). Through the API an account cannot
revoke its last active key (409): it would lock itself out; the CLI (an operator) can.

Authentication reads the key in a short session of its own (not the request's unit of work),
only when the process cache has no fresh entry for it. ``last_used_at`` is written at most
once a minute per key, in such a short transaction, so a request on a fresh key writes
nothing and a slow request never holds a lock on its key row.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.errors import Conflict, NotFound
from ticketbridge.provisioning.cache import CachedKey
from ticketbridge.provisioning.repository import ApiKeyRepository
from ticketbridge.store.changes import TableCache
from ticketbridge.store.models import ApiKey

PREFIX = "tb_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def generate_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(PREFIX) + 6]


def new_key_row(account_id: uuid.UUID, name: str) -> tuple[ApiKey, str]:
    plain = generate_key()
    row = ApiKey(
        account_id=account_id, name=name, prefix=display_prefix(plain), key_hash=hash_key(plain)
    )
    return row, plain


async def authenticate(session: AsyncSession, plain_key: str) -> ApiKey | None:
    return await ApiKeyRepository(session).get_active_by_hash(hash_key(plain_key))


def _fresh(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is not None and now - last_used_at < LAST_USED_RESOLUTION


async def authenticate_request(
    sessions: Callable[[], AsyncSession],
    plain_key: str,
    now: datetime,
    cache: TableCache[str, CachedKey] | None = None,
) -> CachedKey | None:
    """The active key ``plain_key``, from ``cache`` or read in a short session of its own: the
    request's session is not holding a pool connection yet, so a burst of requests can never
    wait on a second connection while holding a first. ``last_used_at`` is written (and
    committed) only when it is older than a minute."""
    digest = hash_key(plain_key)
    if cache is None:
        return await _read_key(sessions, digest, now)
    return await cache.get_or_load(
        digest,
        lambda: _read_key(sessions, digest, now),
        usable=lambda key: _fresh(key.last_used_at, now),
    )


async def _read_key(
    sessions: Callable[[], AsyncSession], digest: str, now: datetime
) -> CachedKey | None:
    async with sessions() as session:
        repo = ApiKeyRepository(session)
        key = await repo.get_active_by_hash(digest)
        if key is None:
            return None
        if _fresh(key.last_used_at, now):
            return CachedKey.of(key)
        # Conditional: of concurrent requests on a stale key one writes, the others match 0 rows.
        await repo.touch(key.id, now, now - LAST_USED_RESOLUTION)
        await session.commit()
        return CachedKey(key.id, key.account_id, now)


async def create(session: AsyncSession, account_id: uuid.UUID, name: str) -> tuple[ApiKey, str]:
    row, plain = new_key_row(account_id, name)
    await ApiKeyRepository(session).add(row)
    return row, plain


async def get(session: AsyncSession, account_id: uuid.UUID | None, key_id: uuid.UUID) -> ApiKey:
    """The key ``key_id`` of ``account_id`` (``None``: any account, for operators)."""
    repo = ApiKeyRepository(session)
    if account_id is None:
        row = await repo.get(key_id)
    else:
        row = await repo.get_for_account(account_id, key_id)
    if row is None:
        raise NotFound("api key not found")
    return row


async def revoke(
    session: AsyncSession,
    account_id: uuid.UUID | None,
    key_id: uuid.UUID,
    now: datetime,
    *,
    allow_last: bool = False,
) -> ApiKey:
    """Revoke a key (idempotent: a revoked key keeps its first ``revoked_at``)."""
    repo = ApiKeyRepository(session)
    row = await get(session, account_id, key_id)
    await repo.lock_account(row.account_id)
    await session.refresh(row)
    if row.revoked_at is not None:
        return row
    row.revoked_at = now
    await session.flush()
    # Counted after our own write, under the account lock: two concurrent revocations of an
    # account's last two keys cannot both pass.
    if not allow_last and await repo.count_active(row.account_id) == 0:
        raise Conflict("this is the account's last active API key; create another one first")
    return row


async def rotate(
    session: AsyncSession, account_id: uuid.UUID | None, key_id: uuid.UUID, now: datetime
) -> tuple[ApiKey, str]:
    """A new key with the old one's name; the old key is revoked in the same transaction."""
    repo = ApiKeyRepository(session)
    old = await get(session, account_id, key_id)
    await repo.lock_account(old.account_id)
    await session.refresh(old)
    if old.revoked_at is not None:
        raise Conflict("api key is revoked; create a new key instead")
    old.revoked_at = now
    row, plain = new_key_row(old.account_id, old.name)
    await repo.add(row)
    return row, plain
