"""Accounts, API keys, organizations and connections. Services never commit."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.connectors import (
    Credentials,
    UrlPolicy,
    UrlRefused,
    address_fields,
    for_connection,
    validate_config,
)
from ticketbridge.crypto import SecretBox
from ticketbridge.errors import (
    Conflict,
    CredentialsUnreadable,
    NotFound,
    Unprocessable,
    VendorError,
)
from ticketbridge.logging import get_logger
from ticketbridge.provisioning import keys
from ticketbridge.provisioning.repository import (
    AccountRepository,
    ApiKeyRepository,
    ConnectionRepository,
    OrganizationRepository,
)
from ticketbridge.provisioning.schemas import (
    ConnectionCreate,
    ConnectionTestResult,
    ConnectionUpdate,
    OrganizationCreate,
)
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Account, ApiKey, Connection, Organization
from ticketbridge.store.session import release_connection

if TYPE_CHECKING:
    from ticketbridge.runtime import Runtime

log = get_logger(__name__)


async def create_api_key(
    session: AsyncSession, *, name: str, account_name: str
) -> tuple[ApiKey, str]:
    """Returns the stored key row and the plain key, which is never stored or shown again."""
    accounts = AccountRepository(session)
    account = await accounts.get_by_name(account_name)
    if account is None:
        account = await accounts.add(Account(name=account_name))
    plain = keys.generate_key()
    row = await ApiKeyRepository(session).add(
        ApiKey(
            account_id=account.id,
            name=name,
            prefix=keys.display_prefix(plain),
            key_hash=keys.hash_key(plain),
        )
    )
    return row, plain


async def authenticate(session: AsyncSession, plain_key: str) -> uuid.UUID | None:
    row = await ApiKeyRepository(session).get_active_by_hash(keys.hash_key(plain_key))
    return row.account_id if row else None


async def create_organization(
    session: AsyncSession, account_id: uuid.UUID, data: OrganizationCreate
) -> Organization:
    return await OrganizationRepository(session).add(
        Organization(account_id=account_id, name=data.name, external_id=data.external_id)
    )


async def get_organization(
    session: AsyncSession, account_id: uuid.UUID, org_id: uuid.UUID
) -> Organization:
    org = await OrganizationRepository(session).get_for_account(account_id, org_id)
    if org is None:
        raise NotFound("organization not found")
    return org


async def get_connection(
    session: AsyncSession, account_id: uuid.UUID, conn_id: uuid.UUID
) -> Connection:
    conn = await ConnectionRepository(session).get_for_account(account_id, conn_id)
    if conn is None:
        raise NotFound("connection not found")
    return conn


async def create_connection(
    session: AsyncSession,
    box: SecretBox,
    account_id: uuid.UUID,
    org_id: uuid.UUID,
    data: ConnectionCreate,
    *,
    default_refresh_interval: int,
    url_policy: UrlPolicy,
) -> Connection:
    await get_organization(session, account_id, org_id)
    vendor = data.vendor.upper()
    creds, opts = validate_config(vendor, data.credentials, data.options)
    assert creds is not None
    await _check_base_url(creds, url_policy)
    if data.identifier is not None:
        await _unique_identifier(session, account_id, data.identifier, None)
    conn = Connection(
        account_id=account_id,
        organization_id=org_id,
        vendor=vendor,
        identifier=data.identifier,
        is_active=data.is_active,
        refresh_interval_secs=data.refresh_interval_secs or default_refresh_interval,
        timeout_secs=data.timeout_secs,
        credentials_encrypted=box.encrypt_json(_plain(creds.model_dump())),
        credentials_hint=creds.hint(),
        options=opts.model_dump(exclude_none=True),
    )
    await ConnectionRepository(session).add(conn)
    log.info("connection_created", connection_id=str(conn.id), vendor=vendor)
    return conn


async def update_connection(
    session: AsyncSession,
    box: SecretBox,
    account_id: uuid.UUID,
    conn_id: uuid.UUID,
    data: ConnectionUpdate,
    *,
    url_policy: UrlPolicy,
) -> Connection:
    conn = await get_connection(session, account_id, conn_id)
    fields = data.model_fields_set
    given = _merged_credentials(box, conn, data.credentials)
    creds, opts = validate_config(
        conn.vendor, given, data.options if data.options is not None else conn.options
    )
    if creds is not None:
        await _check_base_url(creds, url_policy)
        conn.credentials_encrypted = box.encrypt_json(_plain(creds.model_dump()))
        conn.credentials_hint = creds.hint()
        conn.health = "UNKNOWN"
    if data.options is not None:
        conn.options = opts.model_dump(exclude_none=True)
    if "identifier" in fields and data.identifier is not None:
        await _unique_identifier(session, account_id, data.identifier, conn.id)
    for name in ("identifier", "refresh_interval_secs", "timeout_secs", "is_active"):
        if name in fields and getattr(data, name) is not None:
            setattr(conn, name, getattr(data, name))
    conn.updated_at = utcnow()
    await session.flush()
    return conn


async def delete_connection(
    session: AsyncSession, account_id: uuid.UUID, conn_id: uuid.UUID
) -> None:
    conn = await get_connection(session, account_id, conn_id)
    await ConnectionRepository(session).delete(conn)


async def test_connection(
    session: AsyncSession, runtime: Runtime, conn: Connection
) -> ConnectionTestResult:
    await release_connection(session)
    try:
        connector = for_connection(conn, runtime)
        identity = await connector.check_credentials()
    except (VendorError, CredentialsUnreadable) as exc:  # a wrong secret key: say which
        result = ConnectionTestResult(health="UNHEALTHY", detail=exc.message)
    else:
        result = ConnectionTestResult(
            health="HEALTHY",
            detail=None,
            vendor_account_id=identity.vendor_id,
            vendor_account_name=identity.name,
        )
    conn.health = result.health
    conn.health_detail = result.detail
    conn.health_checked_at = utcnow()
    await session.flush()
    return result


def _merged_credentials(
    box: SecretBox, conn: Connection, given: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A PATCH may send only the credential fields that change; the rest are kept. A new
    base_url needs the api_token too: the stored token is never sent to a new address."""
    if given is None:
        return None
    try:
        stored = box.decrypt_json(conn.credentials_encrypted)
    except CredentialsUnreadable:
        return given  # nothing to keep: the whole object is validated as sent
    url_field, secret_field = address_fields(conn.vendor)
    new_url = given.get(url_field)
    if (
        isinstance(new_url, str)
        and new_url.rstrip("/") != str(stored.get(url_field, "")).rstrip("/")
        and secret_field not in given
    ):
        raise Unprocessable(
            f"required when {url_field} changes (the stored secret is never sent to a new address)",
            field=("credentials", secret_field),
        )
    return {**stored, **given}


async def _unique_identifier(
    session: AsyncSession, account_id: uuid.UUID, identifier: str, own: uuid.UUID | None
) -> None:
    other = await ConnectionRepository(session).by_identifier(account_id, identifier)
    if other is not None and other.id != own:
        raise Conflict(f"identifier {identifier!r} is already used by connection {other.id}")


async def _check_base_url(creds: Credentials, url_policy: UrlPolicy) -> None:
    """The vendor URL policy before anything is stored or sent (see connectors/url_policy)."""
    url_field = getattr(creds, "url_field", "base_url")
    try:
        creds.base_url = await url_policy.check(creds.base_url)
    except UrlRefused as exc:
        raise Unprocessable(
            f"credentials.{url_field}: {exc.reason}", field=("credentials", url_field)
        ) from None


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.get_secret_value() if hasattr(v, "get_secret_value") else v) for k, v in data.items()
    }
