"""Vendor registry: validates a connection's configuration and builds its connector.

The only place outside ``connectors/<vendor>/`` that names vendors.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from ticketbridge.connectors.http import RetryPolicy, VendorHttp
from ticketbridge.connectors.jira.client import JiraClient
from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions
from ticketbridge.connectors.jira.connector import JiraConnector
from ticketbridge.connectors.jira.endpoints import endpoint_template
from ticketbridge.errors import Unprocessable, VendorError

VENDORS = ("JIRA",)


def _unprocessable(exc: ValidationError, prefix: str) -> Unprocessable:
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"])
    msg = err["msg"]
    # Never echo a submitted value: it may be a secret.
    return Unprocessable(f"{prefix}.{'.'.join(loc)}: {msg}", field=(prefix, *loc))


def validate_config(
    vendor: str, credentials: dict[str, Any] | None, options: dict[str, Any] | None
) -> tuple[BaseModel | None, BaseModel]:
    """Returns (credentials model or None when not given, options model)."""
    if vendor not in VENDORS:
        raise Unprocessable(
            f"unknown vendor {vendor!r}; supported: {list(VENDORS)}", field="vendor"
        )
    creds: BaseModel | None = None
    try:
        if credentials is not None:
            creds = JiraCredentials.model_validate(credentials)
    except ValidationError as exc:
        raise _unprocessable(exc, "credentials") from None
    try:
        opts = JiraOptions.model_validate(options or {})
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
        self.max_concurrency = max_concurrency
        self.policy = policy or RetryPolicy()
        # One limiter per connection id, shared by every request and job of that connection.
        self._limiters: dict[str, asyncio.Semaphore] = {}

    def limiter(self, connection_id: str) -> asyncio.Semaphore:
        sem = self._limiters.get(connection_id)
        if sem is None:
            sem = self._limiters[connection_id] = asyncio.Semaphore(self.max_concurrency)
        return sem

    def jira(
        self,
        connection_id: str,
        credentials: dict[str, Any],
        options: dict[str, Any],
        *,
        policy: RetryPolicy | None = None,
        timeout_secs: float | None = None,
    ) -> JiraConnector:
        """``policy`` overrides the shared retry policy (interactive calls wait less);
        ``timeout_secs`` (the connection's) lowers the per-request timeout, never raises it."""
        try:
            creds = JiraCredentials.model_validate(credentials)
        except ValidationError as exc:
            # Stored before a rule existed (e.g. a base_url with a "#"): refuse to call it.
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            reason = str(err["msg"]).removeprefix("Value error, ")
            raise VendorError(
                f"the connection's stored credentials.{field} is no longer accepted: "
                f"{reason}; update the connection"
            ) from None
        opts = JiraOptions.model_validate(options or {})
        http = VendorHttp(
            self.client,
            base_url=creds.base_url,
            auth=httpx.BasicAuth(creds.email, creds.api_token.get_secret_value()),
            limiter=self.limiter(connection_id),
            policy=policy or self.policy,
            timeout=min(self.timeout, timeout_secs or self.timeout),
            vendor="jira",
            endpoint_template=endpoint_template,
        )
        return JiraConnector(JiraClient(http), creds, opts, scope=connection_id)
