"""SQLite writers of one process queue in order for the write lock (store/write_queue.py)
instead of polling for it in SQLite's busy handler. With the busy timeout at zero, SQLite
itself refuses a second writer at once ("database is locked"): the queue is what makes it
wait for the first one's commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketbridge.store import write_queue
from ticketbridge.store.session import create_engine


def _no_busy_wait(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=0")
    cur.close()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'q.db'}")
    event.listen(engine.sync_engine, "connect", _no_busy_wait)  # after the app's pragmas
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    await engine.dispose()


async def writer(engine: AsyncEngine, n: int, order: list[int], hold: asyncio.Event) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        await hold.wait()
        await conn.commit()
        order.append(n)


class TestWriteQueue:
    async def test_writers_wait_for_the_first_one_to_commit(self, engine: AsyncEngine) -> None:
        order: list[int] = []
        first_holds, go = asyncio.Event(), asyncio.Event()
        go.set()
        first = asyncio.create_task(writer(engine, 1, order, first_holds))
        await asyncio.sleep(0.05)  # the first writer is inside its transaction
        others = [asyncio.create_task(writer(engine, n, order, go)) for n in (2, 3, 4)]
        await asyncio.sleep(0.05)
        assert order == []  # all wait for the first one, none failed

        first_holds.set()
        await asyncio.gather(first, *others)

        assert order[0] == 1 and sorted(order) == [1, 2, 3, 4]
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT n FROM t ORDER BY n"))).scalars().all()
        assert rows == [1, 2, 3, 4]

    async def test_a_rolled_back_writer_passes_the_turn_on(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            await conn.execute(text("INSERT INTO t (n) VALUES (1)"))
            await conn.rollback()
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (n) VALUES (2)"))
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT n FROM t"))).scalars().all()
        assert rows == [2]

    async def test_without_the_queue_sqlite_refuses_the_second_writer(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The control: the same writers on an engine without the queue."""
        monkeypatch.setattr(write_queue, "install", lambda engine: None)
        engine = create_engine(f"sqlite:///{tmp_path / 'bare.db'}")
        event.listen(engine.sync_engine, "connect", _no_busy_wait)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE t (n INTEGER)"))
            hold = asyncio.Event()
            first = asyncio.create_task(writer(engine, 1, [], hold))
            await asyncio.sleep(0.05)
            with pytest.raises(OperationalError, match="locked"):
                await writer(engine, 2, [], asyncio.Event())
            hold.set()
            await first
        finally:
            await engine.dispose()
