"""Idempotent POSTs (the ``Idempotency-Key`` header) and short-lived reservations.

Usage, in a route handler (``session`` is the request's unit of work)::

    async with idempotent(runtime, session, account_id=..., connection_id=..., route=ROUTE,
                          key=idempotency_key, request_hash=hash_request(body)) as slot:
        if slot.replay is not None:
            return replay_response(slot.replay)
        ... do the work (vendor calls, store writes in ``session``) ...
        await slot.complete(200, response_body)

How it holds up under concurrency and failures:

* The key is claimed with an INSERT in its own, immediately committed transaction BEFORE any
  vendor call, so the unique constraint picks one winner among concurrent requests.
* A concurrent request with the same key and body waits (polling, up to ``wait_secs``) for
  the winner and then replays its response; if the winner is still running after that, it
  gets 409. The same key with a different body is a 422 naming the header.
* ``complete`` writes the response in the caller's session, so it commits atomically with the
  caller's own writes (a replay never returns something that was rolled back).
* A request that fails with an error of ours (4xx, vendor errors) releases the key, so the
  client may retry; an unexpected crash keeps the claim until its lease (``CLAIM_LEASE``)
  expires, so a retry cannot race a write that may have happened.
* Expired rows of a route are purged when that route claims a key, at most once a minute per
  connection and process (an expired row met by a claim is replaced on the spot).

:func:`reserve` uses the same mechanism for a value that must be unique while a request is
running (a ticket identifier): the row is deleted with the caller's commit, or at once when
the work failed before anything left the process (``slot.sent`` unset, or the vendor refused
it). A row whose work may have reached the vendor without being recorded (``slot.sent`` and
a failure, or a crash: its lease runs out) is kept as ``UNSETTLED``, and the next reservation
of the value takes it over with ``slot.unsettled`` set, so that its holder checks the vendor.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.errors import Conflict, TicketbridgeError, Unprocessable, VendorRejected
from ticketbridge.idempotency.repository import (
    DONE,
    IN_PROGRESS,
    UNSETTLED,
    IdempotencyRepository,
)
from ticketbridge.store.base import utcnow
from ticketbridge.store.session import release_connection

if TYPE_CHECKING:
    from ticketbridge.runtime import Runtime

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
REPLAY_TTL = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=5)
# How long an UNSETTLED reservation is kept: far beyond any client's retries. Past it the
# value no longer triggers a vendor check by itself.
UNSETTLED_TTL = timedelta(days=3650)
WAIT_SECS = 10.0
_POLL_FIRST, _POLL_MAX = 0.02, 0.5
_MAX_VANISHED = 3
PURGE_EVERY_SECS = 60.0
# (account, connection, route) -> loop time of its last purge, in this process.
_purged: dict[tuple[uuid.UUID, uuid.UUID, str], float] = {}


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


class Slot:
    """One claimed (or replayed) key. ``replay`` is set when the work was already done.

    Reservations only: ``unsettled`` says an earlier holder's work may have reached the
    vendor without being recorded; the holder sets ``sent`` right before its own vendor
    write, after which a failure keeps the row (UNSETTLED) instead of releasing it."""

    def __init__(
        self,
        session: AsyncSession,
        row_id: uuid.UUID | None,
        replay: Replay | None = None,
        *,
        unsettled: bool = False,
    ) -> None:
        self.session = session
        self.row_id = row_id
        self.replay = replay
        self.settled = row_id is None
        self.unsettled = unsettled
        self.sent = False

    async def complete(self, status_code: int, body: Any) -> None:
        """Record the response to replay (in the caller's session: commits with its work)."""
        if self.row_id is not None:
            await IdempotencyRepository(self.session).complete(
                self.row_id, status_code=status_code, body=body, expires_at=utcnow() + REPLAY_TTL
            )
        self.settled = True

    async def forget(self) -> None:
        """Drop the row with the caller's commit (reservations; or work that needs no replay)."""
        if self.row_id is not None:
            await IdempotencyRepository(self.session).remove(self.row_id)
        self.settled = True


def replay_response(replay: Replay) -> JSONResponse:
    """The recorded response again, marked ``Idempotent-Replayed: true``."""
    return JSONResponse(
        replay.body, status_code=replay.status_code, headers={REPLAYED_HEADER: "true"}
    )


def hash_request(body: Any) -> str:
    """A stable digest of a JSON-able request body (key order and spacing do not matter)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@asynccontextmanager
async def idempotent(
    runtime: Runtime,
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    connection_id: uuid.UUID,
    route: str,
    key: str | None,
    request_hash: str,
    wait_secs: float = WAIT_SECS,
) -> AsyncIterator[Slot]:
    """Claim ``key`` for ``route`` (see the module docstring). ``key=None`` is a no-op slot.

    On an exception the caller's session is rolled back (its work is void anyway) before
    the claim is released, so a SQLite write lock held by that session cannot block it.
    """
    if key is None:
        yield Slot(session, None)
        return
    scope = _Scope(account_id, connection_id, route, key)
    slot = await _claim(
        runtime,
        session,
        scope,
        request_hash,
        wait_secs,
        in_progress=f"a request with this {HEADER} is in progress; retry later",
        mismatch=f"this {HEADER} was used with a different request body; use a new key",
        reservation=False,
    )
    async with _settle(runtime, session, slot):
        yield slot


@asynccontextmanager
async def reserve(
    runtime: Runtime,
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    connection_id: uuid.UUID,
    route: str,
    value: str,
    in_progress: str,
    wait_secs: float = WAIT_SECS,
) -> AsyncIterator[Slot]:
    """Hold ``value`` (unique per connection and ``route``) while the block runs; a
    concurrent holder makes this wait, then 409 ``in_progress``. The row is removed with the
    caller's commit, or at once on an error."""
    scope = _Scope(account_id, connection_id, route, value)
    slot = await _claim(
        runtime,
        session,
        scope,
        "reservation",
        wait_secs,
        in_progress=in_progress,
        mismatch="",
        reservation=True,
    )
    async with _settle(runtime, session, slot):
        yield slot


@dataclass(frozen=True)
class _Scope:
    account_id: uuid.UUID
    connection_id: uuid.UUID
    route: str
    key: str


@asynccontextmanager
async def _settle(runtime: Runtime, session: AsyncSession, slot: Slot) -> AsyncIterator[None]:
    if slot.replay is not None:
        yield
        return
    try:
        yield
    except BaseException as exc:
        await session.rollback()
        if slot.sent or slot.unsettled:
            # A vendor refusal (4xx) created nothing; anything else may have created it.
            await _release(runtime, slot, keep=not isinstance(exc, VendorRejected))
        elif isinstance(exc, TicketbridgeError):
            await _release(runtime, slot)
        raise
    if not slot.settled:
        await slot.forget()


async def _claim(
    runtime: Runtime,
    session: AsyncSession,
    scope: _Scope,
    request_hash: str,
    wait_secs: float,
    *,
    in_progress: str,
    mismatch: str,
    reservation: bool,
) -> Slot:
    # The claim commits in its own session and may wait for another holder: the caller's
    # read phase (authentication, the connection) need not keep its connection meanwhile.
    await release_connection(session)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_secs
    delay = _POLL_FIRST
    vanished = 0
    while True:
        now = utcnow()
        async with runtime.sessionmaker() as own:
            repo = IdempotencyRepository(own)
            if not reservation and _purge_due(scope, loop.time()):
                # Reservations are never purged: a leftover one is the evidence of work
                # that may have reached the vendor.
                await repo.purge_expired(scope.account_id, scope.connection_id, scope.route, now)
            row = {
                "account_id": scope.account_id,
                "connection_id": scope.connection_id,
                "route": scope.route,
                "key": scope.key,
                "request_hash": request_hash,
                "status": IN_PROGRESS,
                "response_status": None,
                "response_body": {},  # the column is NOT NULL; complete() writes the response
                "error": None,
                "created_at": now,
                "expires_at": now + CLAIM_LEASE,
            }
            try:
                row_id = await repo.claim(row)
                await own.commit()
                return Slot(session, row_id)
            except IntegrityError:
                await own.rollback()
            existing = await repo.find(
                scope.account_id, scope.connection_id, scope.route, scope.key
            )
            expired = existing is not None and _aware(existing.expires_at) <= now
            if existing is not None and reservation and (expired or existing.status == UNSETTLED):
                # An earlier holder crashed (its lease ran out) or failed after its vendor
                # write: take the row over; our caller checks the vendor first.
                if await repo.take_over(existing, now + CLAIM_LEASE, request_hash):
                    await own.commit()
                    return Slot(session, existing.id, unsettled=True)
                continue
            if existing is not None and expired:
                # A stale key that the (throttled) purge has not removed yet: replace it.
                await repo.remove(existing.id, expires_before=now)
                await own.commit()
                continue
        if existing is None:
            # The holder released the key between our insert and this read (try again at
            # once), unless the insert keeps failing on another constraint (don't spin).
            vanished += 1
            if vanished > _MAX_VANISHED:
                raise RuntimeError(f"cannot claim a {scope.route} key: the insert keeps failing")
            continue
        if not reservation and existing.request_hash != request_hash:
            # (A reservation's row may be a bulk create's, tagged with its run: it waits.)
            raise Unprocessable(mismatch, field=HEADER, location="header")
        if existing.status == DONE:
            replay = Replay(int(existing.response_status or 200), existing.response_body)
            return Slot(session, None, replay)
        if loop.time() + delay > deadline:
            raise Conflict(in_progress)
        await asyncio.sleep(delay)
        delay = min(delay * 2, _POLL_MAX)


async def _release(runtime: Runtime, slot: Slot, *, keep: bool = False) -> None:
    """Remove the claim, or (``keep``) mark it UNSETTLED for the next holder to check."""
    if slot.row_id is None:
        return
    async with runtime.session() as own:
        repo = IdempotencyRepository(own)
        if keep:
            await repo.mark_unsettled(slot.row_id, utcnow() + UNSETTLED_TTL)
        else:
            await repo.remove(slot.row_id, only_in_progress=True)


def _purge_due(scope: _Scope, now: float) -> bool:
    where = (scope.account_id, scope.connection_id, scope.route)
    last = _purged.get(where)
    if last is not None and now - last < PURGE_EVERY_SECS:
        return False
    if len(_purged) > 100_000:  # bounded: forgetting only means one more purge
        _purged.clear()
    _purged[where] = now
    return True


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive UTC datetimes where the column type does not convert.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
