"""Vendor registry: validates a connection's configuration and builds its connector.

Each vendor package registers one :class:`Vendor` (``connectors/<vendor>/vendor.py``, listed
in :data:`VENDOR_MODULES` and imported by name on first use, so nothing here imports vendor
code). Domain code gets a connector from :func:`for_connection` only: it decrypts the
stored credentials and builds the connector once, over one shared pooled
``httpx.AsyncClient`` and the connection's concurrency limiter (``limits.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import httpx
from pydantic import BaseModel, ValidationError

from ticketbridge.connectors.http import RetryPolicy, VendorHttp
from ticketbridge.connectors.limits import ConnectionLimits, FairTurns
from ticketbridge.connectors.protocols import Connector, Credentials
from ticketbridge.errors import Unprocessable, VendorError

# The registry lines: one module per vendor, each defining ``VENDOR``.
VENDOR_MODULES = (
    "ticketbridge.connectors.jira.vendor",
    "ticketbridge.connectors.servicenow.vendor",
)

# (base_url, auth) -> the connection's HTTP layer (retry policy, limiter, deadlines applied)
HttpFor = Callable[[str, httpx.Auth], VendorHttp]


@dataclass(frozen=True)
class Vendor:
    name: str  # the ``vendor`` of a connection ("JIRA")
    credentials: type[BaseModel]  # validated; must satisfy protocols.Credentials
    options: type[BaseModel]
    # (validated credentials, validated options, http, connection id) -> the connector
    connect: Callable[[Any, Any, HttpFor, str], Connector]
    # (kind, value) -> value, or ValueError saying what the vendor's ids look like; kinds:
    # "project", "issue_type", "issue", "account", "custom_field" (schema_rules checks
    # request ids with every vendor's; the ticket services again with the connection's)
    check_id: Callable[[str, str], str]
    # request path -> its template with ids replaced (a metrics label: never tenant data)
    endpoint_template: Callable[[str], str] | None = None


_vendors: dict[str, Vendor] = {}


def vendors() -> dict[str, Vendor]:
    if not _vendors:
        for name in VENDOR_MODULES:
            vendor: Vendor = importlib.import_module(name).VENDOR
            _vendors[vendor.name] = vendor
    return _vendors


def vendor(name: str) -> Vendor:
    found = vendors().get(name)
    if found is None:
        raise Unprocessable(
            f"unknown vendor {name!r}; supported: {list(vendors())}", field="vendor"
        )
    return found


def check_id(kind: str, value: str) -> str:
    """``value`` when some registered vendor's id grammar accepts it for ``kind``; else
    ValueError saying what is expected (request schemas are checked before the connection,
    hence its vendor, is known)."""
    expected: list[str] = []
    for spec in vendors().values():
        try:
            return spec.check_id(kind, value)
        except ValueError as exc:
            expected.append(str(exc).removeprefix("must be "))
    raise ValueError(f"must be {' or '.join(expected)}")


def address_fields(vendor_name: str) -> tuple[str, str]:
    """(the credentials field holding the vendor's address, the secret that must be sent
    again when it changes): ``("base_url", "api_token")`` for Jira."""
    creds = vendor(vendor_name).credentials
    return (
        str(getattr(creds, "url_field", "base_url")),
        str(getattr(creds, "secret_field", "api_token")),
    )


def check_vendor_id(vendor_name: str, kind: str, value: str) -> str:
    """``value`` when the grammar of ``vendor_name`` accepts it for ``kind``; else ValueError
    (the request schemas accept any registered vendor's ids: the services know the
    connection, hence its vendor, and check again with its grammar alone)."""
    spec = vendors().get(vendor_name)
    return value if spec is None else spec.check_id(kind, value)


def _unprocessable(exc: ValidationError, prefix: str) -> Unprocessable:
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    msg = err["msg"]
    # Never echo a submitted value: it may be a secret.
    return Unprocessable(f"{prefix}.{'.'.join(loc)}: {msg}", field=(prefix, *loc))


def validate_config(
    vendor_name: str, credentials: dict[str, Any] | None, options: dict[str, Any] | None
) -> tuple[Credentials | None, BaseModel]:
    """Returns (credentials model or None when not given, options model)."""
    spec = vendor(vendor_name)
    creds: Credentials | None = None
    try:
        if credentials is not None:
            creds = cast("Credentials", spec.credentials.model_validate(credentials))
    except ValidationError as exc:
        raise _unprocessable(exc, "credentials") from None
    try:
        opts = spec.options.model_validate(options or {})
    except ValidationError as exc:
        raise _unprocessable(exc, "options") from None
    return creds, opts


class ConnectorFactory:
    """Builds per-connection connectors over one shared, pooled HTTP client."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        timeout: float,
        max_concurrency: int,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        # One limiter per connection id, shared by every request and job of that connection.
        self.limits = ConnectionLimits(max_concurrency)

    @property
    def max_concurrency(self) -> int:
        return self.limits.max_concurrency

    def limiter(self, connection_id: str) -> asyncio.Semaphore:
        return self.limits.limiter(connection_id)

    def turns(self, connection_id: str) -> FairTurns:
        """The connection's turns for multi-call work (bulk job chunks), shared fairly."""
        return self.limits.turns(connection_id)

    def build(
        self,
        vendor_name: str,
        connection_id: str,
        credentials: dict[str, Any],
        options: dict[str, Any],
        *,
        policy: RetryPolicy | None = None,
        timeout_secs: float | None = None,
    ) -> Connector:
        """``policy`` overrides the shared retry policy (interactive calls wait less);
        ``timeout_secs`` (the connection's) lowers the per-request timeout, never raises it."""
        spec = vendors().get(vendor_name)
        if spec is None:  # stored, but no longer served: the connection the caller named
            raise Unprocessable(
                f"the connection's vendor {vendor_name!r} is not supported here; "
                f"supported: {list(vendors())}",
                field="X-CONNECTION-ID",
                location="header",
            )
        try:
            creds = spec.credentials.model_validate(credentials)
        except ValidationError as exc:
            # Stored before a rule existed (e.g. a base_url with a "#"): refuse to call it.
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            reason = str(err["msg"]).removeprefix("Value error, ")
            raise VendorError(
                f"the connection's stored credentials.{field} is no longer accepted: "
                f"{reason}; update the connection"
            ) from None
        opts = spec.options.model_validate(options or {})

        def http(base_url: str, auth: httpx.Auth) -> VendorHttp:
            return VendorHttp(
                self.client,
                base_url=base_url,
                auth=auth,
                limiter=self.limiter(connection_id),
                policy=policy or self.policy,
                timeout=min(self.timeout, timeout_secs or self.timeout),
                vendor=spec.name.lower(),
                endpoint_template=spec.endpoint_template,
            )

        return spec.connect(creds, opts, http, connection_id)


class StoredConnection(Protocol):
    """What the registry reads of a ``store.models.Connection``."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def vendor(self) -> str: ...
    @property
    def credentials_encrypted(self) -> str: ...
    @property
    def options(self) -> dict[str, Any]: ...
    @property
    def timeout_secs(self) -> int | None: ...


class Decrypts(Protocol):
    def decrypt_json(self, token: str) -> Any: ...


class HasConnectors(Protocol):
    """What the registry needs of the process runtime (``runtime.Runtime``)."""

    @property
    def box(self) -> Decrypts: ...
    @property
    def connectors(self) -> ConnectorFactory: ...


def for_connection(
    conn: StoredConnection, runtime: HasConnectors, *, policy: RetryPolicy | None = None
) -> Connector:
    """The connection's connector: the one way domain code reaches a vendor.

    Raises CredentialsUnreadable (503) when the secret key does not decrypt the stored
    credentials, VendorError when they no longer validate; the URL policy is applied at
    connect time by the transport."""
    credentials = runtime.box.decrypt_json(conn.credentials_encrypted)
    return runtime.connectors.build(
        conn.vendor,
        str(conn.id),
        credentials,
        conn.options,
        policy=policy,
        timeout_secs=conn.timeout_secs,
    )
