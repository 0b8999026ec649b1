"""store/changes.py: table change counters bumped by committed sessions, and the TTL cache
they invalidate."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from ticketbridge.runtime import Runtime
from ticketbridge.store import changes
from ticketbridge.store.changes import TableCache
from ticketbridge.store.models import Account


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TestTableCache:
    def test_a_value_lives_until_its_ttl(self) -> None:
        clock = Clock()
        cache: TableCache[str, int] = TableCache(("t_ttl",), 5.0, clock=clock)
        cache.put("k", 1, cache.stamp())
        clock.now += 4.9
        assert cache.get("k") == 1
        clock.now += 0.2
        assert cache.get("k") is None

    def test_a_change_of_its_tables_ends_it_at_once(self) -> None:
        cache: TableCache[str, int] = TableCache(("t_change", "t_other"), 60.0)
        cache.put("k", 1, cache.stamp())
        changes.bump(["t_unrelated"])
        assert cache.get("k") == 1
        changes.bump(["t_other"])
        assert cache.get("k") is None

    def test_a_value_read_before_a_change_is_not_kept(self) -> None:
        cache: TableCache[str, int] = TableCache(("t_race",), 60.0)
        stamp = cache.stamp()  # taken before the (slow) read ...
        changes.bump(["t_race"])  # ... during which another request commits a change
        cache.put("k", 1, stamp)
        assert cache.get("k") is None

    def test_ttl_zero_keeps_nothing(self) -> None:
        cache: TableCache[str, int] = TableCache(("t_off",), 0.0)
        cache.put("k", 1, cache.stamp())
        assert cache.get("k") is None

    def test_the_table_is_bounded(self) -> None:
        cache: TableCache[int, int] = TableCache(("t_bound",), 60.0, max_entries=3)
        for i in range(5):
            cache.put(i, i, cache.stamp())
        assert [cache.get(i) for i in range(5)] == [None, None, 2, 3, 4]


class TestGetOrLoad:
    async def test_concurrent_misses_share_one_load(self) -> None:
        cache: TableCache[str, int] = TableCache(("t_flight",), 60.0)
        loads: list[int] = []
        gate = asyncio.Event()

        async def load() -> int:
            loads.append(1)
            await gate.wait()
            return 7

        waiting = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(10)]
        await asyncio.sleep(0)
        gate.set()
        assert await asyncio.gather(*waiting) == [7] * 10
        assert loads == [1]
        assert cache.get("k") == 7

    async def test_a_load_begun_before_a_change_is_not_joined_after_it(self) -> None:
        cache: TableCache[str, str] = TableCache(("t_join",), 60.0)
        gate = asyncio.Event()
        answers = iter(["before", "after"])

        async def load() -> str:
            value = next(answers)
            if value == "before":
                await gate.wait()
            return value

        first = asyncio.create_task(cache.get_or_load("k", load))
        await asyncio.sleep(0)
        changes.bump(["t_join"])  # e.g. a key revoked while the first read was under way
        assert await cache.get_or_load("k", load) == "after"
        gate.set()
        assert await first == "before"
        assert cache.get("k") == "after"

    async def test_unknown_values_are_not_cached_and_errors_reach_every_caller(self) -> None:
        cache: TableCache[str, int] = TableCache(("t_none",), 60.0)
        calls: list[int] = []

        async def nothing() -> int | None:
            calls.append(1)
            return None

        assert await cache.get_or_load("k", nothing) is None
        assert await cache.get_or_load("k", nothing) is None
        assert calls == [1, 1]

        async def broken() -> int:
            raise RuntimeError("database down")

        with pytest.raises(RuntimeError, match="database down"):
            await cache.get_or_load("k", broken)


class TestSessionsBumpWhatTheyCommit:
    async def test_a_commit_bumps_its_tables_and_a_read_does_not(self, runtime: Runtime) -> None:
        before = changes.version(["accounts"])
        async with runtime.session() as s:
            await s.execute(update(Account).values(name="x").where(Account.name == "none"))
            assert changes.version(["accounts"]) == before  # not before the commit
        assert changes.version(["accounts"]) > before
        after = changes.version(["accounts"])
        async with runtime.session() as s:
            await s.scalar(select(Account.id).limit(1))
        assert changes.version(["accounts"]) == after
