"""Per-connection vendor limits live with the HTTP layer; another limiter (the cross-process
PostgreSQL slots of distributed mode) plugs in through ``ConnectionLimits.plug`` instead of a
replaced connector factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ticketbridge.connectors import ConnectorFactory, RetryPolicy
from ticketbridge.connectors.limits import FairTurns
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


class TestFairTurns:
    """Turns for multi-call work (bulk job chunks), shared between parties (jobs)."""

    @staticmethod
    async def holders(turns: FairTurns, parties: list[str]) -> tuple[list[str], list[Any]]:
        """Start one waiter per entry of ``parties``; each holds its turn until released.
        Returns the order turns were granted in, and the release events."""
        granted: list[str] = []
        releases = [asyncio.Event() for _ in parties]

        async def hold(party: str, release: asyncio.Event) -> None:
            async with turns.turn(party):
                granted.append(party)
                await release.wait()

        tasks = [asyncio.create_task(hold(p, r)) for p, r in zip(parties, releases, strict=True)]
        await asyncio.sleep(0)
        return granted, [releases, tasks]

    async def test_a_freed_turn_goes_to_the_party_holding_fewest(self) -> None:
        turns = FairTurns(2)
        granted, (releases, tasks) = await self.holders(turns, ["big"] * 5 + ["small"])
        assert granted == ["big", "big"]  # the cap

        releases[0].set()  # one of big's turns ends: small has none, it goes first
        await asyncio.sleep(0.01)
        assert granted == ["big", "big", "small"]

        for release in releases:
            release.set()
        await asyncio.gather(*tasks)
        assert granted == ["big", "big", "small", "big", "big", "big"]
        assert turns.held == {}

    async def test_equal_parties_take_turns(self) -> None:
        turns = FairTurns(1)
        granted, (releases, tasks) = await self.holders(turns, ["a", "a", "a", "b", "b", "b"])
        for release in releases:
            release.set()
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        assert granted == ["a", "b", "a", "b", "a", "b"]

    async def test_a_cancelled_waiter_gives_its_place_up(self) -> None:
        turns = FairTurns(1)
        granted, (releases, tasks) = await self.holders(turns, ["a", "b", "c"])
        tasks[1].cancel()  # b gives up while waiting
        await asyncio.sleep(0)
        releases[0].set()
        releases[2].set()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert granted == ["a", "c"]
        assert turns.held == {}

    async def test_one_party_alone_uses_every_turn(self) -> None:
        turns = FairTurns(3)
        granted, (releases, tasks) = await self.holders(turns, ["only"] * 4)
        assert granted == ["only"] * 3
        for release in releases:
            release.set()
        await asyncio.gather(*tasks)
        assert granted == ["only"] * 4
