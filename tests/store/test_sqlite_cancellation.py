"""A SQLite unit of work cancelled mid-write leaves no lock behind (store/sqlite_driver.py).

The cancellation is made to land while the statement runs in aiosqlite's worker thread: a SQL
function ``pause()`` holds the thread until the test has cancelled the task, so the statement
finishes (and opens the write transaction) after its caller is gone, as under load. The
``CancelledError`` is kept (``pytest.raises``), and with it the traceback that references the
cancelled cursor: the garbage collector cannot end the leak behind the test's back.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketbridge.store import sqlite_driver
from ticketbridge.store.session import create_engine, create_sessionmaker
from ticketbridge.store.sqlite_driver import ClosingConnection


@dataclass
class Gate:
    """``pause(x)`` in SQL: says it was entered, waits to be opened, returns ``x``."""

    entered: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)

    def pause(self, value: Any) -> Any:
        self.entered.set()
        self.opened.wait(10)
        return value


@dataclass
class Store:
    path: Path
    engine: AsyncEngine
    gate: Gate


@pytest.fixture
async def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Store]:
    # A statement after a write runs in the event loop's thread, where no cancellation can
    # land mid-statement, unless it is big: make every statement big, so that they all take
    # the thread path these tests are about.
    monkeypatch.setattr(sqlite_driver, "INLINE_WRITE_MAX_PARAMS", -1)
    path = tmp_path / "cancel.db"
    engine = create_engine(f"sqlite:///{path}")
    gate = Gate()

    @event.listens_for(engine.sync_engine, "connect")
    def functions(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.create_function("pause", 1, gate.pause)

    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield Store(path, engine, gate)
    gate.opened.set()
    await engine.dispose()


def another_writer_commits(path: Path) -> list[Any]:
    """A plain connection takes the write lock and commits (within its busy timeout), then
    checkpoints the WAL in full (which no connection's leftover read snapshot may block);
    returns the table's rows."""
    other = sqlite3.connect(path, timeout=5)
    try:
        other.execute("INSERT INTO t (x) VALUES (2)")
        other.commit()
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        return [row[0] for row in other.execute("SELECT x FROM t ORDER BY x")]
    finally:
        other.close()


# Where the cancellation lands: the statement that runs when it does, after what before it.
# The first two kept the write lock before the fix (a cursor with an unfinished statement);
# the third, also seen in the logs of the flaky shutdown test, did not, and must not.
CANCEL_POINTS = {
    "insert-returning": ([], "INSERT INTO t (x) VALUES (pause(1)) RETURNING x"),
    "select-after-a-write": (
        ["INSERT INTO t (x) VALUES (1)"],
        "SELECT pause(x) FROM t, (SELECT 1 UNION ALL SELECT 2)",
    ),
    "update-after-insert-returning": (
        ["INSERT INTO t (x) VALUES (1) RETURNING x"],
        "UPDATE t SET x = pause(x) + 10",
    ),
}


@pytest.mark.parametrize("point", list(CANCEL_POINTS))
async def test_a_unit_of_work_cancelled_mid_statement_leaves_no_lock(
    store: Store, point: str
) -> None:
    before, paused = CANCEL_POINTS[point]
    sessions = create_sessionmaker(store.engine)

    async def unit_of_work() -> None:  # as Runtime.session does it
        async with sessions() as s:
            try:
                for sql in before:
                    await s.execute(text(sql))
                await s.execute(text(paused))
                await s.commit()
            except BaseException:
                await s.rollback()
                raise

    task = asyncio.create_task(unit_of_work())
    assert await asyncio.to_thread(store.gate.entered.wait, 10)
    task.cancel()
    await asyncio.sleep(0)  # the cancellation reaches the task while the statement runs
    store.gate.opened.set()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Nothing of the cancelled unit was committed, and nothing of it blocks the next writer.
    assert await asyncio.to_thread(another_writer_commits, store.path) == [2]


def test_closing_a_connection_with_an_unfinished_write_rolls_it_back(tmp_path: Path) -> None:
    path = tmp_path / "close.db"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x INTEGER)")
    setup.close()
    conn = sqlite3.connect(path, factory=ClosingConnection)
    cursor = conn.execute("INSERT INTO t (x) VALUES (1), (3) RETURNING x")  # rows not fetched
    assert conn.in_transaction

    conn.close()

    assert another_writer_commits(path) == [2]
    with pytest.raises(sqlite3.ProgrammingError):
        cursor.fetchall()  # closed with its connection
