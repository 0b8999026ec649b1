"""Typed async calls to ServiceNow's Table and Batch APIs (one instance per connection).

Every call goes through :class:`VendorHttp` (retries, Retry-After, per-connection limit) and
turns a non-success answer into the error tree (``servicenow/errors.py``). Methods return
ServiceNow's JSON as plain dicts: only ``mapping.py`` interprets records.

Table names and sys_ids that go into a URL path are checked against their grammar first, so a
value such as ``../sys_user`` is a 422 and never a request to another path.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from ticketbridge.connectors.http import RetriesExhausted, VendorHttp
from ticketbridge.connectors.servicenow.errors import (
    error_for_exhausted,
    error_for_response,
    unexpected,
)
from ticketbridge.errors import Unprocessable, VendorError

TABLE_API = "/api/now/table"
BATCH_API = "/api/now/v1/batch"
SYS_ID = re.compile(r"[0-9a-f]{32}")
TABLE = re.compile(r"[a-z][a-z0-9_]{0,79}")

# Reads: values and labels both ({"value", "display_value"} per field), references as bare
# sys_ids. Writes: raw values (choice values, sys_ids), never labels, so renaming a choice
# label on the instance cannot change what a write means.
READ_PARAMS = {"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"}
WRITE_PARAMS = {**READ_PARAMS, "sysparm_input_display_value": "false"}


def table_path(table: str, sys_id: str | None = None) -> str:
    if not TABLE.fullmatch(table):
        raise Unprocessable("not a ServiceNow table name", field="table")
    if sys_id is None:
        return f"{TABLE_API}/{table}"
    if not SYS_ID.fullmatch(sys_id):
        raise Unprocessable("not a ServiceNow sys_id (32 hex digits)", field="vendor_id")
    return f"{TABLE_API}/{table}/{quote(sys_id, safe='')}"


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    total: int | None  # X-Total-Count, when ServiceNow sent it


@dataclass(frozen=True)
class BatchItem:
    """One request of a Batch API call (``body`` is JSON, base64-encoded on the wire)."""

    id: str
    method: str
    url: str  # relative, with its query string
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchResult:
    id: str
    status: int
    body: Any  # the decoded JSON body, or None
    retry_after: float | None = None


class ServiceNowClient:
    def __init__(self, http: VendorHttp) -> None:
        self.http = http

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> httpx.Response:
        try:
            response = await self.http.request(method, path, params=params, json=json_body)
        except RetriesExhausted as exc:
            raise error_for_exhausted(exc) from None
        if response.status_code not in ok:
            raise error_for_response(response)
        return response

    @staticmethod
    def _body(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise VendorError(unexpected(response.status_code), vendor_status=response.status_code)
        return body

    # -- Table API ------------------------------------------------------------------------------
    async def query(
        self,
        table: str,
        query: str,
        *,
        limit: int,
        offset: int = 0,
        fields: Sequence[str] | None = None,
        display: bool = True,
        count: bool = True,
    ) -> Page:
        """One page of ``table`` matching the encoded ``query``."""
        params: dict[str, Any] = {
            "sysparm_query": query,
            "sysparm_limit": str(limit),
            "sysparm_offset": str(offset),
        }
        params.update(READ_PARAMS if display else {"sysparm_exclude_reference_link": "true"})
        if fields:
            params["sysparm_fields"] = ",".join(fields)
        if not count:
            params["sysparm_no_count"] = "true"
        response = await self._call("GET", table_path(table), params=params)
        result = self._body(response).get("result")
        if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
            raise VendorError(unexpected(response.status_code), vendor_status=200)
        header = response.headers.get("X-Total-Count", "")
        return Page(result, int(header) if header.isdigit() else None)

    async def get(self, table: str, sys_id: str) -> dict[str, Any]:
        response = await self._call("GET", table_path(table, sys_id), params=READ_PARAMS)
        return self._record(response)

    async def create(self, table: str, fields: dict[str, Any]) -> dict[str, Any]:
        response = await self._call(
            "POST", table_path(table), params=WRITE_PARAMS, json_body=fields, ok=(200, 201)
        )
        return self._record(response)

    async def update(self, table: str, sys_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        response = await self._call(
            "PATCH", table_path(table, sys_id), params=WRITE_PARAMS, json_body=fields, ok=(200,)
        )
        return self._record(response)

    def _record(self, response: httpx.Response) -> dict[str, Any]:
        result = self._body(response).get("result")
        if not isinstance(result, dict):
            raise VendorError(unexpected(response.status_code), vendor_status=200)
        return result

    # -- Batch API ------------------------------------------------------------------------------
    async def batch(self, items: Sequence[BatchItem]) -> tuple[list[BatchResult], list[str]]:
        """One ``POST /api/now/v1/batch``: (serviced results, ids of unserviced requests).

        Not idempotent (it may hold creates): a 5xx or a lost answer raises
        VendorUnavailable/VendorTimeout, and the caller reconciles."""
        body = {
            "batch_request_id": items[0].id.split("-", 1)[0] if items else "0",
            "rest_requests": [
                {
                    "id": item.id,
                    "method": item.method,
                    "url": item.url,
                    "headers": [
                        {"name": "Content-Type", "value": "application/json"},
                        {"name": "Accept", "value": "application/json"},
                    ],
                    "exclude_response_headers": False,
                    **(
                        {"body": base64.b64encode(json.dumps(item.body).encode()).decode()}
                        if item.body is not None
                        else {}
                    ),
                }
                for item in items
            ],
        }
        response = await self._call("POST", BATCH_API, json_body=body, ok=(200,))
        answer = self._body(response)
        results: list[BatchResult] = []
        for raw in answer.get("serviced_requests") or []:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                continue
            status = raw.get("status_code")
            results.append(
                BatchResult(
                    id=raw["id"],
                    status=int(status) if isinstance(status, int) else 0,
                    body=_decode(raw.get("body")),
                    retry_after=_retry_after(raw.get("headers")),
                )
            )
        unserviced = [str(i) for i in answer.get("unserviced_requests") or []]
        return results, unserviced


def item_url(table: str, sys_id: str | None = None) -> str:
    """A batch item's relative URL with the write parameters."""
    return f"{table_path(table, sys_id)}?{urlencode(WRITE_PARAMS)}"


def _decode(body: Any) -> Any:
    if not isinstance(body, str) or not body:
        return None
    try:
        return json.loads(base64.b64decode(body))
    except ValueError:
        return None


def _retry_after(headers: Any) -> float | None:
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "retry-after":
            try:
                return max(0.0, float(str(header.get("value"))))
            except (TypeError, ValueError):
                return None
    return None
