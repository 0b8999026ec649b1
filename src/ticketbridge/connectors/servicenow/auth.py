"""OAuth for ServiceNow: a bearer token from ``POST /oauth_token.do``, kept until it expires.

``grant_type=client_credentials`` (recent releases) when the connection has only a client,
``password`` when it also has a username and password. Tokens are cached per process, keyed
by the instance, the client and a digest of every secret involved, so a rotated secret never
reuses an old token and no two connections share one unless their credentials are the same.
A 401 on a call drops the token and asks for a new one once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from ticketbridge.connectors.servicenow.config import ServiceNowCredentials
from ticketbridge.errors import VendorAuthFailed, VendorUnavailable

TOKEN_PATH = "/oauth_token.do"
# Renew this long before ServiceNow's expiry (clock skew, a call in flight).
EXPIRY_MARGIN_SECS = 60.0
_tokens: dict[str, tuple[str, float]] = {}


def _key(creds: ServiceNowCredentials) -> str:
    parts = [
        creds.instance,
        creds.client_id or "",
        creds.client_secret.get_secret_value() if creds.client_secret else "",
        creds.username or "",
        creds.password.get_secret_value() if creds.password else "",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class OAuthClientAuth(httpx.Auth):
    requires_response_body = True

    def __init__(self, credentials: ServiceNowCredentials) -> None:
        assert credentials.client_id is not None and credentials.client_secret is not None
        self._creds = credentials
        self._key = _key(credentials)

    def _form(self) -> dict[str, str]:
        creds = self._creds
        assert creds.client_id is not None and creds.client_secret is not None
        form = {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret.get_secret_value(),
        }
        if creds.username is not None and creds.password is not None:
            form.update(
                grant_type="password",
                username=creds.username,
                password=creds.password.get_secret_value(),
            )
        else:
            form["grant_type"] = "client_credentials"
        return form

    def _token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._creds.instance.rstrip("/") + TOKEN_PATH,
            data=self._form(),
            headers={"Accept": "application/json"},
        )

    def _store(self, response: httpx.Response) -> str:
        if response.status_code in (400, 401, 403):
            raise VendorAuthFailed(
                f"ServiceNow refused the connection's OAuth client (HTTP {response.status_code});"
                " check client_id and client_secret",
                vendor_status=response.status_code,
            )
        if response.status_code != 200:
            raise VendorUnavailable(
                f"ServiceNow's token endpoint answered HTTP {response.status_code}",
                vendor_status=response.status_code,
            )
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise VendorAuthFailed("ServiceNow's token endpoint answered without a token")
        expires = body.get("expires_in") if isinstance(body, dict) else None
        lifetime = float(expires) if isinstance(expires, int | float) else 1800.0
        _tokens[self._key] = (token, time.monotonic() + max(0.0, lifetime - EXPIRY_MARGIN_SECS))
        return token

    def _cached(self) -> str | None:
        found = _tokens.get(self._key)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # Overriding the async flow skips httpx's own body reading: token answers are read
        # here, the call's own answer is left streaming for VendorHttp.
        token = self._cached()
        fresh = token is None
        if token is None:
            response = yield self._token_request()
            await response.aread()
            token = self._store(response)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            # Revoked or expired early: one new token, one more try.
            _tokens.pop(self._key, None)
            token_response = yield self._token_request()
            await token_response.aread()
            request.headers["Authorization"] = f"Bearer {self._store(token_response)}"
            yield request
