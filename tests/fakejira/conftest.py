"""Fixtures for the emulator's own tests: an in-process app on a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.clock import Clock
from ticketbridge.fakejira import (
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_ADMIN_TOKEN,
    FakeJiraApp,
    FakeJiraState,
    Site,
    create_app,
)
from ticketbridge.fakejira.server import BackgroundServer

SITE_URL = "https://acme.atlassian.net"
ADMIN = (DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_TOKEN)
START_MS = 1_717_200_000_000  # 2024-06-01T00:00:00Z


@pytest.fixture
def clock() -> Clock:
    return Clock(START_MS / 1000)


@pytest.fixture
def state(clock: Clock) -> FakeJiraState:
    return FakeJiraState(clock=clock)


@pytest.fixture
def app(state: FakeJiraState) -> FakeJiraApp:
    return create_app(state)


@pytest.fixture
def site(state: FakeJiraState) -> Site:
    return state.site("acme.atlassian.net")


def make_client(
    app: Any, *, auth: tuple[str, str] | None = ADMIN, base_url: str = SITE_URL
) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, auth=auth)


@pytest.fixture
async def client(app: FakeJiraApp, site: Site) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


@pytest.fixture
def live_server() -> Iterator[BackgroundServer]:
    """A real uvicorn socket on loopback, for faults that only a socket can show."""
    with BackgroundServer(create_app()) as server:
        yield server


async def create(
    client: httpx.AsyncClient,
    summary: str = "Something broke",
    *,
    project: str = "DEMO",
    issuetype: str = "10001",
    api: int = 3,
    **fields: Any,
) -> dict[str, Any]:
    """Create an issue through the API and return the 201 body."""
    body = {
        "fields": {
            "project": {"key": project},
            "issuetype": {"id": issuetype},
            "summary": summary,
            **fields,
        }
    }
    response = await client.post(f"/rest/api/{api}/issue", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data
