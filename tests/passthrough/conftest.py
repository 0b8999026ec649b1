"""Helpers for the passthrough tests (fixtures come from the shared conftest: ``fake_site``,
``tenant``, ``other_tenant``, ``client``, ``app``, ``retry_sleep``...)."""

from __future__ import annotations

from typing import Any

import httpx

from ticketbridge.fakejira import Site

PROJECTS_URL = "/v1/itsm/passthrough/projects"
SEARCH_URL = "/v1/itsm/passthrough/tickets/search"

PROJECT_SEARCH = "GET /rest/api/3/project/search"
CREATEMETA = "GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes"
ASSIGNABLE = "GET /rest/api/3/user/assignable/search"
SEARCH_JQL = "POST /rest/api/3/search/jql"


def issue_types_url(project: str) -> str:
    return f"{PROJECTS_URL}/{project}/issue-types"


def users_url(project: str) -> str:
    return f"{PROJECTS_URL}/{project}/assignable-users"


def calls(site: Site, route: str) -> int:
    """How many requests the emulator served on ``route`` ("METHOD /rest/api/3/...")."""
    return site.stats.routes[route]


async def jira_direct(
    transport: httpx.AsyncBaseTransport, method: str, path: str, **kwargs: Any
) -> Any:
    """The emulator's own answer to a request made straight to it (what Jira would send)."""
    async with httpx.AsyncClient(
        transport=transport,
        base_url="https://acme.atlassian.net",
        auth=("admin@example.com", "fake-token"),
    ) as jira:
        response = await jira.request(method, path, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()
