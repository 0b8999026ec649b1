"""Fixtures for the ServiceNow emulator's own tests: an in-process app on a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fixtures.clock import Clock
from ticketbridge.fakeservicenow import (
    DEFAULT_ADMIN_USER,
    DEFAULT_INTEGRATION_USER,
    DEFAULT_PASSWORD,
    FakeServiceNowApp,
    FakeServiceNowState,
    Instance,
    create_app,
)

INSTANCE_URL = "https://acme.service-now.com"
ADMIN = (DEFAULT_ADMIN_USER, DEFAULT_PASSWORD)
INTEGRATION = (DEFAULT_INTEGRATION_USER, DEFAULT_PASSWORD)
START_S = 1_717_200_000  # 2024-06-01 00:00:00 UTC


@pytest.fixture
def clock() -> Clock:
    return Clock(START_S)


@pytest.fixture
def state(clock: Clock) -> FakeServiceNowState:
    return FakeServiceNowState(clock=clock)


@pytest.fixture
def app(state: FakeServiceNowState) -> FakeServiceNowApp:
    return create_app(state)


@pytest.fixture
def instance(state: FakeServiceNowState) -> Instance:
    return state.instance("acme.service-now.com")


def make_client(app: Any, *, auth: Any = ADMIN, base_url: str = INSTANCE_URL) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, auth=auth)


@pytest.fixture
async def client(app: FakeServiceNowApp, instance: Instance) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


async def create(
    client: httpx.AsyncClient, table: str = "incident", **values: Any
) -> dict[str, Any]:
    """Insert through the Table API and return the stored record (raw values, no links)."""
    body = {"short_description": "Something broke", **values}
    response = await client.post(
        f"/api/now/table/{table}", json=body, params={"sysparm_exclude_reference_link": "true"}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()["result"]
    return result
