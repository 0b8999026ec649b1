"""Fixtures for contract tests: an in-process client that validates every response against
the OpenAPI slice, and a real uvicorn server (session-scoped) for third-party clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from ticketbridge.fakejira import (
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_ADMIN_TOKEN,
    FakeJiraApp,
    FakeJiraState,
    SeedSpec,
    Site,
    create_app,
)
from ticketbridge.fakejira.server import BackgroundServer

from .openapi import validate_request, validate_response

ADMIN = (DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_TOKEN)
NOW_MS = 1_717_200_000_000


class ContractClient:
    """Calls the emulator and validates each response (and JSON request) against the slice."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.checked: list[tuple[str, str, int, str]] = []

    async def call(
        self,
        method: str,
        template: str,
        *,
        path: dict[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        expect: int,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        check_request: bool = True,
    ) -> Any:
        url = template.format(**(path or {}))
        if json is not None and check_request and expect < 400:
            validate_request(template, method, json)
        response = await self.http.request(method, url, params=params, json=json, auth=auth)
        assert response.status_code == expect, response.text
        body = response.json() if response.content else None
        schema = validate_response(template, method, response.status_code, body)
        self.checked.append((method, template, response.status_code, schema))
        return body


@pytest.fixture
def state() -> FakeJiraState:
    return FakeJiraState(
        seed=SeedSpec(projects=2, issues_per_project=30, users=12, seed=5, now_ms=NOW_MS)
    )


@pytest.fixture
def app(state: FakeJiraState) -> FakeJiraApp:
    return create_app(state)


@pytest.fixture
def site(state: FakeJiraState) -> Site:
    return state.site("acme.atlassian.net")


@pytest.fixture
async def api(app: FakeJiraApp, site: Site) -> AsyncIterator[ContractClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://acme.atlassian.net", auth=ADMIN
    ) as http:
        yield ContractClient(http)


@pytest.fixture(scope="session")
def live_jira() -> Iterator[BackgroundServer]:
    """One real server for the third-party client tests: 2 x 250 seeded issues, 60 projects."""
    state = FakeJiraState(
        seed=SeedSpec(projects=2, issues_per_project=250, users=20, seed=9, now_ms=NOW_MS)
    )
    site = state.site()
    for n in range(58):
        site.add_project(f"X{n:02d}", f"Extra project {n:02d}")
    with BackgroundServer(create_app(state)) as server:
        yield server
