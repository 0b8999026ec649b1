"""Fixtures for the passthrough tests: the emulator's acme site, tenants, and helpers.

``fake_jira``, ``vendor_transport``, ``runtime``, ``tenant`` and ``other_tenant`` stand in
until the shared conftest provides them (same names and meaning).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ticketbridge.fakejira import FakeJiraState, Site, create_app
from ticketbridge.runtime import Runtime
from tests.helpers import Tenant, make_tenant


@pytest.fixture
def fake_jira() -> FakeJiraState:
    return FakeJiraState()


@pytest.fixture
def vendor_transport(fake_jira: FakeJiraState) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=create_app(fake_jira))


@pytest.fixture
def runtime(app: Any) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


@pytest.fixture
async def tenant(client: httpx.AsyncClient, runtime: Runtime) -> Tenant:
    return await make_tenant(client, runtime, "acme")


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient, runtime: Runtime) -> Tenant:
    return await make_tenant(client, runtime, "globex")


@pytest.fixture
def site(fake_jira: FakeJiraState) -> Site:
    """The Jira site every tenant's connection points at (https://acme.atlassian.net)."""
    return fake_jira.site("acme.atlassian.net")


PROJECTS_URL = "/v1/itsm/passthrough/projects"
SEARCH_URL = "/v1/itsm/passthrough/tickets/search"


def issue_types_url(project: str) -> str:
    return f"{PROJECTS_URL}/{project}/issue-types"


def users_url(project: str) -> str:
    return f"{PROJECTS_URL}/{project}/assignable-users"


def calls(site: Site, route: str) -> int:
    """How many requests the emulator served on ``route`` ("METHOD /rest/api/3/...")."""
    return site.stats.routes[route]


PROJECT_SEARCH = "GET /rest/api/3/project/search"
CREATEMETA = "GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes"
ASSIGNABLE = "GET /rest/api/3/user/assignable/search"
SEARCH_JQL = "POST /rest/api/3/search/jql"
