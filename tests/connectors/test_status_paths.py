"""The status walk against the emulator, below the API: request counts per operation, the
step limit, and the fallback when the project's statuses cannot be read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import httpx
import pytest

from ticketbridge.connectors.base import UpdateSpec
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.connectors.jira import status_paths
from ticketbridge.connectors.jira.connector import JiraConnector
from ticketbridge.connectors.registry import ConnectorFactory
from ticketbridge.errors import Conflict
from ticketbridge.fakejira import FakeJiraState, Site, create_app

CREDENTIALS = {
    "base_url": "https://acme.atlassian.net",
    "email": "admin@example.com",
    "api_token": "fake-token",
}
TRANSITIONS = "GET /rest/api/3/issue/{issueIdOrKey}/transitions"
POST_TRANSITION = "POST /rest/api/3/issue/{issueIdOrKey}/transitions"
STATUSES = "GET /rest/api/3/project/{projectIdOrKey}/statuses"


class NoProjectStatuses(httpx.AsyncBaseTransport):
    """The emulator, but ``GET /project/{key}/statuses`` is forbidden (a user who may not
    browse the project's configuration)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/statuses"):
            return httpx.Response(403, json={"errorMessages": ["Forbidden"], "errors": {}})
        return await self.inner.handle_async_request(request)


@pytest.fixture
def state() -> FakeJiraState:
    return FakeJiraState()


@pytest.fixture
def site(state: FakeJiraState) -> Site:
    site = state.site("acme.atlassian.net")
    site.add_project("CLS", "Classic", workflow="classic")
    return site


async def connector_for(transport: httpx.AsyncBaseTransport) -> AsyncIterator[JiraConnector]:
    async with httpx.AsyncClient(transport=transport) as client:
        factory = ConnectorFactory(client, timeout=5, max_concurrency=4, policy=RetryPolicy())
        yield cast(JiraConnector, factory.build("JIRA", "c1", CREDENTIALS, {}))


@pytest.fixture
async def jira(state: FakeJiraState, site: Site) -> AsyncIterator[JiraConnector]:
    async for connector in connector_for(httpx.ASGITransport(app=create_app(state))):
        yield connector


@pytest.fixture
async def jira_without_statuses(state: FakeJiraState, site: Site) -> AsyncIterator[JiraConnector]:
    transport = NoProjectStatuses(httpx.ASGITransport(app=create_app(state)))
    async for connector in connector_for(transport):
        yield connector


def new_issue(site: Site, project: str) -> str:
    body = {"fields": {"project": {"key": project}, "issuetype": {"id": "10001"}, "summary": "s"}}
    return site.create_issue(body).key


async def test_each_status_is_read_once_per_operation(jira: JiraConnector, site: Site) -> None:
    key = new_issue(site, "CLS")
    issue = await jira.update_issue(key, UpdateSpec(status="CLOSED"))
    assert (issue.status, site.get_issue(key).status.name) == ("CLOSED", "Closed")
    routes = site.stats.routes
    # Open -> In Progress -> Resolved -> Closed: Open's transitions come with the issue's
    # first read, In Progress's and Resolved's are read once each.
    assert (routes[POST_TRANSITION], routes[TRANSITIONS], routes[STATUSES]) == (3, 2, 1)
    # The same connector (one operation) knows the workflow: no more reads of it.
    second = new_issue(site, "CLS")
    await jira.update_issue(second, UpdateSpec(status="CLOSED"))
    assert (routes[POST_TRANSITION], routes[TRANSITIONS], routes[STATUSES]) == (6, 2, 1)


async def test_one_step_to_a_named_status_needs_no_workflow_read(
    jira: JiraConnector, site: Site
) -> None:
    key = new_issue(site, "DEMO")
    await jira.update_issue(key, UpdateSpec(status="CLOSED"))
    routes = site.stats.routes
    assert site.get_issue(key).status.name == "Done"
    # GET the issue (with its transitions), POST the transition, GET it back: nothing else.
    assert site.stats.total == 3
    assert (routes[POST_TRANSITION], routes[TRANSITIONS], routes[STATUSES]) == (1, 0, 0)


async def test_the_walk_stops_after_the_step_limit(
    jira: JiraConnector, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_paths, "MAX_STEPS", 2)
    key = new_issue(site, "CLS")
    with pytest.raises(Conflict) as caught:
        await jira.update_issue(key, UpdateSpec(status="CLOSED"))
    assert caught.value.message == (
        f"status CLOSED was not reached within 2 transitions; {key} is now in 'Resolved'"
    )
    assert site.get_issue(key).status.name == "Resolved"


async def test_without_project_statuses_one_step_paths_still_work(
    jira_without_statuses: JiraConnector, site: Site
) -> None:
    key = new_issue(site, "DEMO")
    issue = await jira_without_statuses.update_issue(key, UpdateSpec(status="RESOLVED"))
    assert (issue.status, site.get_issue(key).status.name) == ("CLOSED", "Done")
    assert site.stats.routes[POST_TRANSITION] == 1


async def test_without_project_statuses_only_the_next_statuses_are_known(
    jira_without_statuses: JiraConnector, site: Site
) -> None:
    # Only the transitions of the current status are known: Open -> In Progress, whose
    # category is not Done, so nothing reachable is CLOSED and nothing changes.
    key = new_issue(site, "CLS")
    with pytest.raises(Conflict) as caught:
        await jira_without_statuses.update_issue(key, UpdateSpec(status="CLOSED"))
    assert caught.value.message == (
        "status CLOSED cannot be reached from OPEN; reachable statuses: IN_PROGRESS"
    )
    assert site.get_issue(key).status.name == "Open"
    assert site.stats.routes[POST_TRANSITION] == 0
