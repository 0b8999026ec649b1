"""A client of the compatible ITSM API, written only from its public documentation.

It stands for a third-party client being switched over to ticketbridge, so it knows the product
page (``shared/spec/itsm-write-endpoints.md``) and the API reference (``shared/reference/
leen-api.md``) and nothing else: no import from ``ticketbridge``, none of our extra routes or
fields. Paths and field names are spelled exactly as documented; an error is read the way the
documentation's clients read it (``data.detail`` as the message); search items are read as
Jira's (``key``, ``fields.summary``); a job is polled until ``SUCCESS`` or ``FAILED``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

STATUSES = ("OPEN", "TODO", "IN_PROGRESS", "IN_REVIEW", "RESOLVED", "CLOSED")
PRIORITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNKNOWN")
JOB_TERMINAL = ("SUCCESS", "FAILED")


class ApiError(Exception):
    """An error answer: its HTTP status and ``detail``, the message a client shows."""

    def __init__(self, status: int, detail: Any) -> None:
        self.status = status
        self.raw_detail = detail
        # What a JavaScript client would show for ``String(data.detail)``.
        self.detail = detail if isinstance(detail, str) else "[object Object]"
        super().__init__(f"HTTP {status}: {self.detail}")


class Client:
    """The documented API over HTTP: ``X-API-KEY`` always, ``X-CONNECTION-ID`` on data routes."""

    def __init__(
        self, base_url: str, api_key: str, connection_id: str | None = None, timeout: float = 60
    ) -> None:
        self.connection_id = connection_id
        self._http = httpx.Client(
            base_url=f"{base_url.rstrip('/')}/v1", headers={"X-API-KEY": api_key}, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        data_route: bool = True,
    ) -> Any:
        headers = {}
        if data_route:
            if self.connection_id is None:
                raise ValueError("data routes need a connection id")
            headers["X-CONNECTION-ID"] = self.connection_id
        r = self._http.request(method, path, json=json, params=params, headers=headers)
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail")
            except ValueError:
                detail = r.text
            raise ApiError(r.status_code, detail)
        return r.json() if r.content else None

    # -- provisioning (X-API-KEY only) --------------------------------------------------------

    def create_organization(self, name: str) -> dict[str, Any]:
        org: dict[str, Any] = self._call(
            "POST", "/provisioning/organizations", json={"name": name}, data_route=False
        )
        return org

    def create_connection(
        self,
        organization_id: str,
        credentials: dict[str, Any],
        *,
        vendor: str = "JIRA",
        identifier: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"vendor": vendor, "credentials": credentials}
        if identifier is not None:
            body["identifier"] = identifier
        if options is not None:
            body["options"] = options
        conn: dict[str, Any] = self._call(
            "POST",
            f"/provisioning/organizations/{organization_id}/connections",
            json=body,
            data_route=False,
        )
        return conn

    # -- tickets --------------------------------------------------------------------------------

    def create_ticket(self, **fields: Any) -> dict[str, Any]:
        ticket: dict[str, Any] = self._call("POST", "/itsm/tickets", json=fields)
        return ticket

    def update_ticket(self, ticket_id: str, **fields: Any) -> dict[str, Any]:
        ticket: dict[str, Any] = self._call("PATCH", f"/itsm/tickets/{ticket_id}", json=fields)
        return ticket

    def get_ticket(self, ticket_id: str) -> dict[str, Any]:
        ticket: dict[str, Any] = self._call("GET", f"/itsm/tickets/{ticket_id}")
        return ticket

    def get_ticket_by_identifier(self, identifier: str) -> dict[str, Any]:
        path = f"/itsm/tickets/by-identifier/{quote(identifier, safe='')}"
        ticket: dict[str, Any] = self._call("GET", path)
        return ticket

    def list_tickets(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        page = self._call("GET", "/itsm/tickets", params={"limit": limit, "offset": offset})
        items: list[dict[str, Any]] = page["items"]
        return items

    def bulk_create_sync(self, tickets: list[dict[str, Any]]) -> dict[str, Any]:
        summary: dict[str, Any] = self._call(
            "POST", "/itsm/tickets/bulk/sync", json={"tickets": tickets}
        )
        return summary

    def bulk_create(self, tickets: list[dict[str, Any]]) -> str:
        return str(self._call("POST", "/itsm/tickets/bulk", json={"tickets": tickets})["job_id"])

    def bulk_update(self, ticket_ids: list[str], updates: dict[str, Any]) -> str:
        body = {"ticket_ids": ticket_ids, "updates": updates}
        return str(self._call("POST", "/itsm/tickets/bulk/update", json=body)["job_id"])

    # -- jobs -----------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self._call("GET", f"/jobs/{job_id}")
        return job

    def wait_for_job(self, job_id: str, timeout: float = 60, every: float = 0.2) -> dict[str, Any]:
        """Poll ``GET /v1/jobs/{job_id}`` until the job is ``SUCCESS`` or ``FAILED``."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if job["status"] in JOB_TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout}s")
            time.sleep(every)

    # -- passthrough (vendor-native data) -------------------------------------------------------

    def list_projects(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        page = self._call(
            "GET", "/itsm/passthrough/projects", params={"limit": limit, "offset": offset}
        )
        items: list[dict[str, Any]] = page["items"]
        return items

    def list_issue_types(self, project_key: str) -> list[dict[str, Any]]:
        page = self._call("GET", f"/itsm/passthrough/projects/{project_key}/issue-types")
        items: list[dict[str, Any]] = page["items"]
        return items

    def list_assignable_users(
        self, project_key: str, query: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"query": query} if query is not None else None
        page = self._call(
            "GET", f"/itsm/passthrough/projects/{project_key}/assignable-users", params=params
        )
        items: list[dict[str, Any]] = page["items"]
        return items

    def search_tickets(
        self, jql: str, cursor: str | None = None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of Jira issues (Jira's shape) and the cursor of the next page."""
        params: dict[str, Any] = {"jql": jql, "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = self._call("GET", "/itsm/passthrough/tickets/search", params=params)
        return page["items"], page.get("next_cursor")

    def search_all(self, jql: str, limit: int = 50) -> list[dict[str, Any]]:
        items, cursor = self.search_tickets(jql, limit=limit)
        while cursor:
            more, cursor = self.search_tickets(jql, cursor=cursor, limit=limit)
            items.extend(more)
        return items


def summary_of(item: dict[str, Any]) -> str:
    """The title of a passthrough search item, read as Jira spells it."""
    return str(item["fields"]["summary"])
