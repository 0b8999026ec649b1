"""Typed async calls to the Jira Cloud REST API v3 (one instance per connection).

Every call goes through :class:`VendorHttp` (retries, Retry-After, per-connection limit) and
turns a non-success answer into the error tree (``connectors/jira/errors.py``). Methods return
Jira's JSON as plain dicts: only ``mapping.py`` interprets Jira payloads.

Every id that goes into a URL path is checked against Jira's id grammar first and quoted, so
a value such as ``../../myself`` is a 422 and never a request to another path; an answer that
is not the JSON shape a call expects is a 502, never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import quote

import httpx

from ticketbridge.connectors.http import RetriesExhausted, VendorHttp, decode_json
from ticketbridge.connectors.jira.errors import (
    clip,
    error_for_exhausted,
    error_for_response,
    unexpected,
)
from ticketbridge.errors import Unprocessable, VendorError

API = "/rest/api/3"
BULK_CREATE_MAX = 50

NUMERIC_ID = re.compile(r"^[0-9]{1,19}$")
PROJECT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}$")
ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}-[0-9]{1,19}$")
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def path_id(value: object, *patterns: re.Pattern[str], field: str) -> str:
    """``value`` quoted for a URL path when it matches one of Jira's id grammars."""
    text = value if isinstance(value, str) else str(value) if isinstance(value, int) else ""
    if not any(p.fullmatch(text) for p in patterns):
        raise Unprocessable(f"{field}: not a valid Jira key or id", field=field)
    return quote(text, safe="")


def project_ref(value: object, field: str = "project_vendor_id") -> str:
    return path_id(value, NUMERIC_ID, PROJECT_KEY, field=field)


def issue_ref(value: object, field: str = "vendor_id") -> str:
    return path_id(value, NUMERIC_ID, ISSUE_KEY, field=field)


class JiraClient:
    def __init__(self, http: VendorHttp) -> None:
        self.http = http

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
            response = await self.http.request(
                method, path, params=params, json=json, retry_unsafe=retry_unsafe
            )
        except RetriesExhausted as exc:
            raise error_for_exhausted(exc) from None
        if response.status_code not in ok:
            raise error_for_response(response)
        return response

    async def _object(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        response = await self._call(method, path, **kw)
        try:
            body = decode_json(response.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _unexpected(response)
        return body

    async def _list(self, method: str, path: str, **kw: Any) -> list[dict[str, Any]]:
        response = await self._call(method, path, **kw)
        try:
            body = decode_json(response.content)
        except ValueError:
            body = None
        if not isinstance(body, list):
            raise _unexpected(response)
        return body

    # -- identity and metadata -------------------------------------------------------------
    async def myself(self) -> dict[str, Any]:
        """The connection's user; an answer without a Jira account id is not Jira's, so none
        of its fields is passed on."""
        response = await self._call("GET", f"{API}/myself")
        try:
            body = decode_json(response.content)
        except ValueError:
            body = None
        account = body.get("accountId") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not ACCOUNT_ID.fullmatch(str(account or "")):
            raise _unexpected(response)
        for name in ("displayName", "emailAddress"):
            value = body.get(name)
            body[name] = clip(value, 255) if isinstance(value, str) else None
        return body

    async def server_info(self) -> dict[str, Any]:
        return await self._object("GET", f"{API}/serverInfo")

    async def fields(self) -> list[dict[str, Any]]:
        return await self._list("GET", f"{API}/field")

    async def priorities(self) -> list[dict[str, Any]]:
        return await self._list("GET", f"{API}/priority")

    # -- projects, issue types, users ----------------------------------------------------------
    async def search_projects(
        self,
        *,
        start_at: int = 0,
        max_results: int = 50,
        query: str | None = None,
        keys: Sequence[str] | None = None,
        expand: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"startAt": start_at, "maxResults": max_results}
        if query:
            params["query"] = query
        if keys:
            params["keys"] = list(keys)
        if expand:
            params["expand"] = expand
        return await self._object("GET", f"{API}/project/search", params=params)

    async def get_project(self, key_or_id: str, *, expand: str | None = None) -> dict[str, Any]:
        params = {"expand": expand} if expand else None
        return await self._object("GET", f"{API}/project/{project_ref(key_or_id)}", params=params)

    async def project_issue_types(
        self, key_or_id: str, *, start_at: int = 0, max_results: int = 200
    ) -> dict[str, Any]:
        return await self._object(
            "GET",
            f"{API}/issue/createmeta/{project_ref(key_or_id)}/issuetypes",
            params={"startAt": start_at, "maxResults": max_results},
        )

    async def assignable_users(
        self, project: str, *, query: str | None = None, start_at: int = 0, max_results: int = 50
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "project": project,
            "startAt": start_at,
            "maxResults": max_results,
        }
        if query:
            params["query"] = query
        return await self._list("GET", f"{API}/user/assignable/search", params=params)

    # -- search --------------------------------------------------------------------------------
    async def search_jql(
        self,
        jql: str,
        *,
        next_page_token: str | None = None,
        max_results: int = 50,
        fields: Sequence[str] | None = None,
        expand: str | None = None,
        properties: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """``POST /search/jql`` (a read: retried like an idempotent call). ``properties``:
        up to 5 issue entity property keys to return with each issue."""
        body = _search_body(jql, next_page_token, max_results, fields, expand, properties)
        return await self._object("POST", f"{API}/search/jql", json=body, retry_unsafe=True)

    async def search_jql_raw(
        self,
        jql: str,
        *,
        next_page_token: str | None = None,
        max_results: int = 50,
        fields: Sequence[str] | None = None,
        properties: Sequence[str] | None = None,
    ) -> bytes:
        """:meth:`search_jql`'s answer undecoded, for a caller that decodes it elsewhere (the
        sync's helper process); :func:`search_body` reads it as :meth:`search_jql` would."""
        body = _search_body(jql, next_page_token, max_results, fields, None, properties)
        response = await self._call("POST", f"{API}/search/jql", json=body, retry_unsafe=True)
        if response.status_code != 200 and search_body(response.content) is None:
            raise _unexpected(response)  # as _object says it (a 200 is said by the caller)
        return response.content

    async def approximate_count(self, jql: str) -> int:
        body = await self._object(
            "POST", f"{API}/search/approximate-count", json={"jql": jql}, retry_unsafe=True
        )
        count = body.get("count")
        if not isinstance(count, int):
            raise VendorError(unexpected(200))
        return count

    # -- issues --------------------------------------------------------------------------------
    async def get_issue(
        self, key_or_id: str, *, fields: Sequence[str] | None = None, expand: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if fields is not None:
            params["fields"] = ",".join(fields)
        if expand:
            params["expand"] = expand
        return await self._object("GET", f"{API}/issue/{issue_ref(key_or_id)}", params=params)

    async def create_issue(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Not retried on 5xx/transport errors: the issue may exist; the caller reconciles."""
        body = await self._object("POST", f"{API}/issue", json=payload)
        # The key is used in the next URL (the read-back): it must be a key.
        if not ISSUE_KEY.fullmatch(str(body.get("key"))):
            raise VendorError(unexpected(201))
        return body

    async def bulk_create(self, issue_updates: list[dict[str, Any]]) -> dict[str, Any]:
        """``POST /issue/bulk``; a 400 (every item failed) is returned, not raised."""
        if len(issue_updates) > BULK_CREATE_MAX:
            raise ValueError(f"at most {BULK_CREATE_MAX} issues per bulk call")
        return await self._object(
            "POST", f"{API}/issue/bulk", json={"issueUpdates": issue_updates}, ok=(201, 400)
        )

    async def edit_issue(self, key_or_id: str, payload: dict[str, Any]) -> None:
        await self._call("PUT", f"{API}/issue/{issue_ref(key_or_id)}", json=payload)

    async def delete_issue(self, key_or_id: str, *, delete_subtasks: bool = False) -> None:
        await self._call(
            "DELETE",
            f"{API}/issue/{issue_ref(key_or_id)}",
            params={"deleteSubtasks": str(delete_subtasks).lower()},
        )

    async def get_transitions(
        self, key_or_id: str, *, with_fields: bool = False
    ) -> list[dict[str, Any]]:
        params = {"expand": "transitions.fields"} if with_fields else None
        body = await self._object(
            "GET", f"{API}/issue/{issue_ref(key_or_id)}/transitions", params=params
        )
        transitions = body.get("transitions") or []
        return cast(list[dict[str, Any]], transitions if isinstance(transitions, list) else [])

    async def project_statuses(self, key_or_id: str) -> list[dict[str, Any]]:
        """The statuses of a project's workflows, per issue type."""
        return await self._list("GET", f"{API}/project/{project_ref(key_or_id)}/statuses")

    async def transition_issue(
        self, key_or_id: str, transition_id: str, *, fields: dict[str, Any] | None = None
    ) -> None:
        body: dict[str, Any] = {"transition": {"id": transition_id}}
        if fields:
            body["fields"] = fields
        await self._call("POST", f"{API}/issue/{issue_ref(key_or_id)}/transitions", json=body)

    # -- bulk operations -----------------------------------------------------------------------
    async def bulk_transition(self, inputs: list[dict[str, Any]]) -> str:
        body = await self._object(
            "POST",
            f"{API}/bulk/issues/transition",
            json={"bulkTransitionInputs": inputs, "sendBulkNotification": False},
        )
        return _task_id(body)

    async def bulk_edit(self, payload: dict[str, Any]) -> str:
        return _task_id(await self._object("POST", f"{API}/bulk/issues/fields", json=payload))

    async def bulk_available_transitions(self, keys: Sequence[str]) -> dict[str, Any]:
        return await self._object(
            "GET", f"{API}/bulk/issues/transition", params={"issueIdsOrKeys": ",".join(keys)}
        )

    async def bulk_progress(self, task_id: str) -> dict[str, Any]:
        task = path_id(task_id, TASK_ID, field="task_id")
        return await self._object("GET", f"{API}/bulk/queue/{task}")


def _search_body(
    jql: str,
    next_page_token: str | None,
    max_results: int,
    fields: Sequence[str] | None,
    expand: str | None,
    properties: Sequence[str] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"jql": jql, "maxResults": max_results}
    if next_page_token:
        body["nextPageToken"] = next_page_token
    if fields is not None:
        body["fields"] = list(fields)
    if properties:
        body["properties"] = list(properties)
    if expand:
        body["expand"] = expand
    return body


def search_body(content: bytes) -> dict[str, Any] | None:
    """A search answer's JSON object, or None when it is not one (the caller's 502)."""
    try:
        body = decode_json(content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def not_json_object() -> VendorError:
    """What :meth:`JiraClient._object` raises for a 200 answer that is not a JSON object."""
    return VendorError(unexpected(200), vendor_status=200)


def _unexpected(response: httpx.Response) -> VendorError:
    return VendorError(unexpected(response.status_code), vendor_status=response.status_code)


def _task_id(body: dict[str, Any]) -> str:
    task = body.get("taskId")
    if not isinstance(task, str | int) or not TASK_ID.fullmatch(str(task)):
        raise VendorError(unexpected(201))
    return str(task)
