"""Shortcuts shared by the ticket-write tests (fixtures live in conftest.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from tests.helpers import Tenant
from ticketbridge.fakejira import Site
from ticketbridge.fakejira.model import Issue
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import IssueType, Project, Ticket, User

TICKETS = "/v1/itsm/tickets"
CREATE = "POST /rest/api/3/issue"
GET = "GET /rest/api/3/issue/{issueIdOrKey}"
EDIT = "PUT /rest/api/3/issue/{issueIdOrKey}"
TRANSITION = "POST /rest/api/3/issue/{issueIdOrKey}/transitions"
SEARCH = "POST /rest/api/3/search/jql"
CREATEMETA = "GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes"
DELETE = "DELETE /rest/api/3/issue/{issueIdOrKey}"


async def create(
    client: httpx.AsyncClient,
    tenant: Tenant,
    headers: dict[str, str] | None = None,
    /,
    **body: Any,
) -> httpx.Response:
    body.setdefault("name", "Disk full on db-1")
    if "project_id" not in body:
        body.setdefault("project_vendor_id", "DEMO")
    if not {"type", "type_id"} & body.keys():
        body.setdefault("type_vendor_id", "10001")  # Task
    return await client.post(TICKETS, json=body, headers={**tenant.headers, **(headers or {})})


async def created(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await create(client, tenant, **body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def update(
    client: httpx.AsyncClient, tenant: Tenant, ticket_id: str, **body: Any
) -> httpx.Response:
    return await client.patch(f"{TICKETS}/{ticket_id}", json=body, headers=tenant.headers)


def jira_issue(site: Site, ticket: dict[str, Any]) -> Issue:
    """The emulator's stored issue behind a ticket returned by our API."""
    return site.get_issue(ticket["vendor_attributes"]["data"]["key"])


def calls(site: Site, route: str) -> int:
    return site.stats.routes.get(route, 0)


def account_of(site: Site, email: str) -> str:
    user = site.user_by_email(email)
    assert user is not None
    return user.account_id


def marker_labels(issue: Issue) -> list[str]:
    return [label for label in issue.labels if label.startswith("tb-")]


async def stored(runtime: Runtime, model: type[Any], **where: Any) -> list[Any]:
    """Rows of ``model`` matching ``where`` (column == value), read in a fresh session."""
    async with runtime.session() as s:
        stmt = select(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return list((await s.scalars(stmt)).all())


async def project_uuid(runtime: Runtime, tenant: Tenant, key: str) -> str:
    [row] = await stored(runtime, Project, connection_id=_cid(tenant), key=key)
    return str(row.id)


async def issue_type_uuid(runtime: Runtime, tenant: Tenant, project: str, name: str) -> str:
    pid = uuid.UUID(await project_uuid(runtime, tenant, project))
    [row] = await stored(runtime, IssueType, connection_id=_cid(tenant), project_id=pid, name=name)
    return str(row.id)


async def user_uuid(runtime: Runtime, tenant: Tenant, account_id: str) -> str:
    [row] = await stored(runtime, User, connection_id=_cid(tenant), vendor_id=account_id)
    return str(row.id)


async def tickets_of(runtime: Runtime, tenant: Tenant) -> list[Ticket]:
    return await stored(runtime, Ticket, connection_id=_cid(tenant))


def _cid(tenant: Tenant) -> uuid.UUID:
    assert tenant.connection_id is not None
    return uuid.UUID(tenant.connection_id)
