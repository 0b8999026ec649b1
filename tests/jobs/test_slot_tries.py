"""The PostgreSQL slot limiter's tries: one round trip takes at most one slot, one waiter per
process polls, and a slot given back in the process is taken again without a poll's wait."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from ticketbridge.jobs.limiter import TRY_SLOTS, PgSlotLimiter, open_slot_pool, slot_key
from ticketbridge.store.urls import libpq_url


@pytest.fixture(params=["postgres"])
def db_url(pg_server_url: str) -> str:
    return pg_server_url  # advisory locks only: no tables needed


async def advisory_locks(conn: psycopg.AsyncConnection[Any]) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


class TestOneTry:
    async def test_a_try_takes_the_first_free_slot_and_only_that_one(self, db_url: str) -> None:
        keys = [slot_key(str(uuid.uuid4()), i) for i in range(4)]
        url = libpq_url(db_url)
        sessions = [await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(4)]
        holder, a, b, c = sessions
        try:
            await holder.execute("SELECT pg_advisory_lock(%s), pg_advisory_lock(%s)", keys[:2])
            answers = [
                await (await s.execute(TRY_SLOTS, {"keys": keys})).fetchall() for s in (a, b, c)
            ]
            locks = [await advisory_locks(s) for s in (a, b, c)]
        finally:
            for s in sessions:
                await s.close()

        assert answers == [[(keys[2],)], [(keys[3],)], []]
        assert locks == [1, 1, 0]  # none taken when every slot is busy


class TestWaiting:
    async def test_one_waiter_per_process_polls_and_a_local_release_wakes_it(
        self, db_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Three slots, two of them held by another process: our first call takes the free
        one, the next two have local permits but only one of them polls; when our holder
        gives its slot back, the poller takes it at once (its back-off is 30 s here)."""
        connection_id = str(uuid.uuid4())
        keys = [slot_key(connection_id, i) for i in range(3)]
        monkeypatch.setattr("ticketbridge.jobs.limiter.random.uniform", lambda a, b: 30.0)
        polling, peak = 0, 0
        poll = PgSlotLimiter._poll

        async def counted(self: PgSlotLimiter, conn: Any) -> int:
            nonlocal polling, peak
            polling += 1
            peak = max(peak, polling)
            try:
                return await poll(self, conn)
            finally:
                polling -= 1

        monkeypatch.setattr(PgSlotLimiter, "_poll", counted)
        order: list[int] = []
        release = [asyncio.Event() for _ in range(3)]

        async def call(limiter: PgSlotLimiter, n: int) -> None:
            async with limiter:
                order.append(n)
                await release[n].wait()

        url = db_url
        async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as other:
            await other.execute("SELECT pg_advisory_lock(%s), pg_advisory_lock(%s)", keys[:2])
            async with open_slot_pool(url, 4) as pool:
                limiter = PgSlotLimiter(pool, connection_id, 3)
                calls = [asyncio.create_task(call(limiter, 0))]
                while not order:
                    await asyncio.sleep(0.01)
                calls += [asyncio.create_task(call(limiter, n)) for n in (1, 2)]
                await asyncio.sleep(0.2)
                assert order == [0] and polling == 1
                release[0].set()
                await asyncio.wait_for(calls[0], 5)
                for n in (1, 2):  # each taken within the 30 s back-off: woken by the release
                    while len(order) <= n:
                        await asyncio.sleep(0.01)
                    release[n].set()
                await asyncio.wait_for(asyncio.gather(*calls), 5)

        assert order == [0, 1, 2] and peak == 1
