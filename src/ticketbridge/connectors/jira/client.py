"""Typed async calls to the Jira Cloud REST API v3 (one instance per connection).

Every call goes through :class:`VendorHttp` (retries, Retry-After, per-connection limit) and
turns a non-success answer into the error tree (``connectors/jira/errors.py``). Methods return
Jira's JSON as plain dicts: only ``mapping.py`` interprets Jira payloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import httpx

from ticketbridge.connectors.http import RetriesExhausted, VendorHttp
from ticketbridge.connectors.jira.errors import error_for_exhausted, error_for_response

API = "/rest/api/3"
BULK_CREATE_MAX = 50


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

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self._call(method, path, **kw)
        return response.json() if response.content else None

    # -- identity and metadata -------------------------------------------------------------
    async def myself(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self._json("GET", f"{API}/myself"))

    async def server_info(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self._json("GET", f"{API}/serverInfo"))

    async def fields(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], await self._json("GET", f"{API}/field"))

    async def priorities(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], await self._json("GET", f"{API}/priority"))

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
        return cast(dict[str, Any], await self._json("GET", f"{API}/project/search", params=params))

    async def get_project(self, key_or_id: str, *, expand: str | None = None) -> dict[str, Any]:
        params = {"expand": expand} if expand else None
        return cast(
            dict[str, Any], await self._json("GET", f"{API}/project/{key_or_id}", params=params)
        )

    async def project_issue_types(
        self, key_or_id: str, *, start_at: int = 0, max_results: int = 200
    ) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            await self._json(
                "GET",
                f"{API}/issue/createmeta/{key_or_id}/issuetypes",
                params={"startAt": start_at, "maxResults": max_results},
            ),
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
        return cast(
            list[dict[str, Any]],
            await self._json("GET", f"{API}/user/assignable/search", params=params),
        )

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
        body: dict[str, Any] = {"jql": jql, "maxResults": max_results}
        if next_page_token:
            body["nextPageToken"] = next_page_token
        if fields is not None:
            body["fields"] = list(fields)
        if properties:
            body["properties"] = list(properties)
        if expand:
            body["expand"] = expand
        return cast(
            dict[str, Any],
            await self._json("POST", f"{API}/search/jql", json=body, retry_unsafe=True),
        )

    async def approximate_count(self, jql: str) -> int:
        body = await self._json(
            "POST", f"{API}/search/approximate-count", json={"jql": jql}, retry_unsafe=True
        )
        return int(body["count"])

    # -- issues --------------------------------------------------------------------------------
    async def get_issue(
        self, key_or_id: str, *, fields: Sequence[str] | None = None, expand: str | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if fields is not None:
            params["fields"] = ",".join(fields)
        if expand:
            params["expand"] = expand
        return cast(
            dict[str, Any], await self._json("GET", f"{API}/issue/{key_or_id}", params=params)
        )

    async def create_issue(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Not retried on 5xx/transport errors: the issue may exist; the caller reconciles."""
        return cast(dict[str, Any], await self._json("POST", f"{API}/issue", json=payload))

    async def bulk_create(self, issue_updates: list[dict[str, Any]]) -> dict[str, Any]:
        """``POST /issue/bulk``; a 400 (every item failed) is returned, not raised."""
        if len(issue_updates) > BULK_CREATE_MAX:
            raise ValueError(f"at most {BULK_CREATE_MAX} issues per bulk call")
        return cast(
            dict[str, Any],
            await self._json(
                "POST", f"{API}/issue/bulk", json={"issueUpdates": issue_updates}, ok=(201, 400)
            ),
        )

    async def edit_issue(self, key_or_id: str, payload: dict[str, Any]) -> None:
        await self._call("PUT", f"{API}/issue/{key_or_id}", json=payload)

    async def delete_issue(self, key_or_id: str, *, delete_subtasks: bool = False) -> None:
        await self._call(
            "DELETE",
            f"{API}/issue/{key_or_id}",
            params={"deleteSubtasks": str(delete_subtasks).lower()},
        )

    async def get_transitions(self, key_or_id: str) -> list[dict[str, Any]]:
        body = await self._json("GET", f"{API}/issue/{key_or_id}/transitions")
        return cast(list[dict[str, Any]], body.get("transitions", []))

    async def transition_issue(
        self, key_or_id: str, transition_id: str, *, fields: dict[str, Any] | None = None
    ) -> None:
        body: dict[str, Any] = {"transition": {"id": transition_id}}
        if fields:
            body["fields"] = fields
        await self._call("POST", f"{API}/issue/{key_or_id}/transitions", json=body)

    # -- bulk operations -----------------------------------------------------------------------
    async def bulk_transition(self, inputs: list[dict[str, Any]]) -> str:
        body = await self._json(
            "POST",
            f"{API}/bulk/issues/transition",
            json={"bulkTransitionInputs": inputs, "sendBulkNotification": False},
        )
        return str(body["taskId"])

    async def bulk_edit(self, payload: dict[str, Any]) -> str:
        body = await self._json("POST", f"{API}/bulk/issues/fields", json=payload)
        return str(body["taskId"])

    async def bulk_available_transitions(self, keys: Sequence[str]) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            await self._json(
                "GET", f"{API}/bulk/issues/transition", params={"issueIdsOrKeys": ",".join(keys)}
            ),
        )

    async def bulk_progress(self, task_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._json("GET", f"{API}/bulk/queue/{task_id}"))
