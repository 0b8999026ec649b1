"""store/sqlite_driver.py: one thread trip per statement answers what four did; bounded reads
make none."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketbridge.store.session import create_engine
from ticketbridge.store.sqlite_driver import TrackedConnection, inline_reads


async def _tracked(conn: AsyncConnection) -> TrackedConnection:
    raw = await conn.get_raw_connection()
    tracked = raw.driver_connection
    assert isinstance(tracked, TrackedConnection)
    return tracked


def _write_lock_free(db: Path) -> bool:
    """Whether another connection can take the write lock at once."""
    other = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


async def test_statements_answer_rows_counts_and_errors(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "a"}, {"v": "b"}])
            r = await conn.execute(text("UPDATE t SET v = 'c' WHERE v = 'a'"))
            assert r.rowcount == 1
            rows = (await conn.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
            assert [tuple(row) for row in rows] == [(1, "c"), (2, "b")]
            returned = await conn.execute(text("DELETE FROM t WHERE id = 2 RETURNING v"))
            assert returned.scalar() == "b"
        async with engine.connect() as conn:
            try:
                await conn.execute(text("SELECT nope FROM t"))
            except Exception as exc:  # the driver's error, as before
                assert "no such column" in str(exc)
            else:
                raise AssertionError("the bad statement did not fail")
    finally:
        await engine.dispose()


async def test_each_statement_is_one_trip_and_leaves_no_lock(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        async with engine.connect() as conn:
            tracked = await _tracked(conn)
            sent = tracked._sent
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
            assert tracked._sent == sent + 1  # one trip, not four
            # The lock is free: the write takes it at once and runs inline, as do the
            # statements after it.
            await conn.execute(text("INSERT INTO t (v) VALUES ('uncommitted')"))
            row = (await conn.execute(text("SELECT v FROM t WHERE id = 1"))).one()
            assert row.v == "uncommitted"  # its own transaction's row
            assert tracked._sent == sent + 1
            assert not _write_lock_free(db)  # the insert's transaction is open
            await conn.rollback()
            assert not tracked.in_transaction_now()
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        assert _write_lock_free(db)
    finally:
        await engine.dispose()


async def test_bounded_reads_run_in_the_loop_thread_and_other_reads_do_not(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        async with engine.connect() as conn:
            tracked = await _tracked(conn)
            sent = tracked._sent
            await conn.execute(text("SELECT v FROM t"))  # not marked: through the thread
            assert tracked._sent == sent + 1
            with inline_reads():
                assert (await conn.execute(text("SELECT v FROM t WHERE id = 1"))).scalar() == "a"
                assert tracked._sent == sent + 1  # no trip through the worker thread
            await conn.execute(text("SELECT v FROM t"))
            assert tracked._sent == sent + 2
    finally:
        await engine.dispose()


async def test_a_bounded_read_waits_for_a_call_still_in_the_thread(tmp_path: Path) -> None:
    """A call whose caller was cancelled still runs in the thread: a read must not run beside
    it on the same connection, so it queues behind it."""
    engine = create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    release = threading.Event()
    try:
        async with engine.connect() as conn:
            tracked = await _tracked(conn)
            pending = asyncio.ensure_future(tracked._execute(release.wait, 10))
            await asyncio.sleep(0)
            assert not tracked.idle()
            sent = tracked._sent
            read = asyncio.ensure_future(_inline_select(conn))
            await asyncio.sleep(0.05)
            assert not read.done() and tracked._sent == sent + 1  # queued in the thread
            release.set()
            await pending
            assert await read == 1
            assert tracked.idle()
    finally:
        await engine.dispose()


async def _inline_select(conn: AsyncConnection) -> Any:
    with inline_reads():
        return (await conn.execute(text("SELECT 1"))).scalar()


async def test_a_write_waits_for_the_lock_in_the_thread_then_its_transaction_runs_inline(
    tmp_path: Path,
) -> None:
    db = tmp_path / "e.db"
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        try:
            async with engine.connect() as conn:
                tracked = await _tracked(conn)
                sent = tracked._sent
                turns = 0

                async def ticker() -> None:  # the loop keeps running while the write waits
                    nonlocal turns
                    while True:
                        turns += 1
                        if turns == 5:
                            holder.execute("ROLLBACK")
                        await asyncio.sleep(0.01)

                ticking = asyncio.ensure_future(ticker())
                try:
                    # Another connection holds the lock: through the thread, waiting there.
                    # It matches no row, and still takes the lock.
                    await conn.execute(text("UPDATE t SET v = 'x' WHERE id = 99"))
                finally:
                    ticking.cancel()
                assert turns >= 5 and tracked._sent == sent + 1
                assert tracked.holds_write_lock() and not _write_lock_free(db)
                await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "a"}, {"v": "b"}])
                r = await conn.execute(text("UPDATE t SET v = 'c' WHERE id = 1 RETURNING v"))
                assert r.scalar() == "c"
                assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 2
                await conn.commit()
                assert tracked._sent == sent + 1  # the statements and the commit: inline
                assert not tracked.holds_write_lock() and _write_lock_free(db)

                # A big statement goes through the thread, even with the lock held.
                await conn.execute(text("INSERT INTO t (v) VALUES ('d')"))
                await conn.execute(
                    text("INSERT INTO t (v) VALUES (:v)"), [{"v": str(i)} for i in range(100)]
                )
                assert tracked._sent == sent + 2
                await conn.rollback()  # inline: the lock is held
                assert tracked._sent == sent + 2
                assert _write_lock_free(db)
        finally:
            holder.close()
        other = sqlite3.connect(db)
        try:
            assert other.execute("SELECT id, v FROM t ORDER BY id").fetchall() == [
                (1, "c"),
                (2, "b"),
            ]
        finally:
            other.close()
    finally:
        await engine.dispose()


async def test_a_write_that_did_not_get_the_lock_keeps_going_through_the_thread(
    tmp_path: Path,
) -> None:
    """``BEGIN`` succeeded, the write found the lock taken: a transaction is open and holds
    no lock, so its next statements may wait for it and must not block the loop."""
    db = tmp_path / "f.db"
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        holder = sqlite3.connect(db, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            async with engine.connect() as conn:
                tracked = await _tracked(conn)
                await conn.exec_driver_sql("PRAGMA busy_timeout=50")
                try:
                    await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
                except Exception as exc:
                    assert "locked" in str(exc)
                else:
                    raise AssertionError("the write got the lock")
                assert tracked.in_transaction_now() and not tracked.holds_write_lock()
                sent = tracked._sent
                await conn.execute(text("SELECT count(*) FROM t"))
                # An executemany of no rows opens a transaction and takes no lock.
                cursor = await tracked.cursor()
                await cursor.executemany("UPDATE t SET v = ? WHERE id = ?", [])
                assert not tracked.holds_write_lock()
                await conn.rollback()
                assert tracked._sent == sent + 3  # all through the thread
                holder.execute("ROLLBACK")
                await conn.execute(text("INSERT INTO t (v) VALUES ('b')"))
                assert tracked.holds_write_lock()
                await conn.commit()
        finally:
            holder.close()
        assert _write_lock_free(db)
    finally:
        await engine.dispose()


async def test_closing_a_pooled_connection_is_clean_and_counted(tmp_path: Path) -> None:
    # The lock bookkeeping after each call in the thread asked a closed sqlite3 connection
    # whether it was in a transaction, and the pool logged "Exception closing connection"
    # at every shutdown (caught by tests/cli/test_papercuts.py's JSON log check).
    engine = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    async with engine.connect() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        await conn.execute(text("INSERT INTO t VALUES (1)"))
        await conn.commit()
        tracked = await _tracked(conn)
    await tracked.close()
    assert not tracked.in_transaction_now()
    assert not tracked.holds_write_lock()
    await engine.dispose()
