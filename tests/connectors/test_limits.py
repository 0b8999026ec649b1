"""Per-connection vendor limits live with the HTTP layer; another limiter (the cross-process
PostgreSQL slots of distributed mode) plugs in through ``ConnectionLimits.plug`` instead of a
replaced connector factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from ticketbridge.connectors import ConnectorFactory, RetryPolicy
from ticketbridge.fakejira import FakeJiraState, create_app

CREDENTIALS = {
    "base_url": "https://acme.atlassian.net",
    "email": "admin@example.com",
    "api_token": "fake-token",
}


class Counting(asyncio.Semaphore):
    """A plugged limiter that counts the vendor calls made under it."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.entered = 0

    async def acquire(self) -> bool:
        self.entered += 1
        return await super().acquire()


@pytest.fixture
async def factory() -> AsyncIterator[ConnectorFactory]:
    state = FakeJiraState()
    state.site("acme.atlassian.net")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state))) as client:
        yield ConnectorFactory(client, timeout=5, max_concurrency=3, policy=RetryPolicy())


async def test_one_limiter_per_connection(factory: ConnectorFactory) -> None:
    assert factory.limiter("a") is factory.limiter("a")
    assert factory.limiter("a") is not factory.limiter("b")


async def test_a_plugged_limiter_bounds_the_calls_and_unplugging_restores(
    factory: ConnectorFactory,
) -> None:
    local = factory.limiter("c1")
    made: dict[str, Counting] = {}

    def source(connection_id: str, max_concurrency: int) -> asyncio.Semaphore:
        made[connection_id] = Counting(max_concurrency)
        return made[connection_id]

    with factory.limits.plug(source):
        connector = factory.build("JIRA", "c1", CREDENTIALS, {})
        await connector.check_credentials()
        await connector.check_credentials()
        assert factory.limiter("c1") is made["c1"]
    assert made["c1"].entered == 2
    assert not made["c1"].locked()  # permits given back

    assert factory.limiter("c1") is local
    await factory.build("JIRA", "c1", CREDENTIALS, {}).check_credentials()
    assert made["c1"].entered == 2  # unplugged: the local semaphore again
