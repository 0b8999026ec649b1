"""First run: the one-time setup token and the demo connection. Services never commit.

``serve`` on a database without accounts prints one link carrying a setup token in the URL
fragment (a fragment is never sent to a server, so no access log or proxy sees it). The
console posts the token back to ``POST /v1/setup``, which creates the first account and API
key. The token is random (256 bits), kept only as a SHA-256 digest, compared in constant time,
single-use and expires; by default only loopback clients may use it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.connectors import validate_config
from ticketbridge.connectors.demo import demo_credentials, is_demo_url
from ticketbridge.crypto import SecretBox
from ticketbridge.errors import Conflict, Forbidden, NotFound
from ticketbridge.provisioning.repository import (
    AccountRepository,
    ConnectionRepository,
    OrganizationRepository,
)
from ticketbridge.provisioning.service import create_api_key
from ticketbridge.store.models import Connection, Organization

FIRST_ACCOUNT = "default"
DEMO_ORGANIZATION = "Demo"


@dataclass
class SetupToken:
    """The pending first-run token of this process (never stored in the database)."""

    digest: bytes
    expires_at: float
    clock: Callable[[], float] = time.monotonic
    used: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def issue(
        cls, ttl_secs: float, clock: Callable[[], float] = time.monotonic
    ) -> tuple[SetupToken, str]:
        """A new token and its plain text (printed once by ``serve``, then forgotten)."""
        plain = secrets.token_urlsafe(32)
        return cls(_digest(plain), clock() + ttl_secs, clock), plain

    @property
    def pending(self) -> bool:
        return not self.used and self.clock() < self.expires_at

    def matches(self, plain: str) -> bool:
        return hmac.compare_digest(self.digest, _digest(plain))


def _digest(plain: str) -> bytes:
    return hashlib.sha256(plain.encode("utf-8", "surrogatepass")).digest()


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def needs_setup(session: AsyncSession) -> bool:
    return not await AccountRepository(session).any_exists()


async def redeem(
    session: AsyncSession, token: SetupToken | None, plain: str, *, key_name: str
) -> str:
    """Checks and burns the token, then creates the first account's API key (plain key)."""
    # One answer for "no setup pending", "already used" and "expired": the link is dead.
    if token is None or not token.pending:
        raise NotFound("no setup is pending; create keys with `ticketbridge api-keys create`")
    async with token.lock:
        if not token.pending:
            raise NotFound("no setup is pending; create keys with `ticketbridge api-keys create`")
        if not token.matches(plain):
            raise Forbidden("the setup token is wrong; use the link printed by `serve`")
        token.used = True  # burnt before any await: a second request finds it used
    if not await needs_setup(session):
        raise Conflict("an account already exists; create keys with `ticketbridge api-keys`")
    return (await create_api_key(session, name=key_name, account_name=FIRST_ACCOUNT))[1]


async def create_demo_connection(
    session: AsyncSession, box: SecretBox, account_id: uuid.UUID, *, refresh_interval: int
) -> Connection:
    """The account's demo connection (one per account; 409 when it has one)."""
    conns = ConnectionRepository(session)
    for conn in await conns.list_for_account(account_id):
        if is_demo_url(str(conn.credentials_hint.get("base_url", ""))):
            raise Conflict("this account already has a demo connection")
    orgs = OrganizationRepository(session)
    org = await orgs.add(Organization(account_id=account_id, name=DEMO_ORGANIZATION))
    creds, _ = validate_config("JIRA", demo_credentials(), None)
    assert creds is not None  # credentials were given
    plain = {
        k: getattr(v, "get_secret_value", lambda v=v: v)() for k, v in creds.model_dump().items()
    }
    conn = Connection(
        account_id=account_id,
        organization_id=org.id,
        vendor="JIRA",
        identifier="demo",
        is_active=True,
        refresh_interval_secs=refresh_interval,
        credentials_encrypted=box.encrypt_json(plain),
        credentials_hint=creds.hint(),
        options={},
    )
    await conns.add(conn)
    return conn
