"""Typed async calls to the Jira Cloud REST API v3 (one instance per connection)."""

from __future__ import annotations

from typing import Any

import httpx

from ticketbridge.connectors.http import RetriesExhausted, VendorHttp
from ticketbridge.connectors.jira.errors import error_for_exhausted, error_for_response


class JiraClient:
    def __init__(self, http: VendorHttp) -> None:
        self._http = http

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        retry_unsafe: bool = False,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, path, params=params, json=json, retry_unsafe=retry_unsafe
            )
        except RetriesExhausted as exc:
            raise error_for_exhausted(exc) from None
        if response.status_code not in ok:
            raise error_for_response(response)
        return response

    async def myself(self) -> dict[str, Any]:
        response = await self._call("GET", "/rest/api/3/myself")
        body: dict[str, Any] = response.json()
        return body
