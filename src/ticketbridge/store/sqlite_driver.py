"""aiosqlite connections that know whether SQLite has a transaction open on them.

SQLite starts a transaction at the first write (the driver's default), so a unit of work
that only read has none, and its commit, rollback and the pool's rollback on return are
no-ops in SQLite; yet each one is a round trip through aiosqlite's worker thread (a queue,
a thread wake-up, a hand-back to the event loop), which on a busy machine waits for the
thread to be scheduled. ``session.py`` skips them when :meth:`TrackedConnection.
in_transaction_now` says no transaction is open.

The answer must count calls still pending in the thread: a call whose caller was cancelled
still runs there later (an ``INSERT`` may open a transaction after the check), so until the
thread has finished every call it was given, the answer is "yes" and the rollback is queued
behind that call, as without this module.

Each statement is also one trip through the thread instead of four: SQLAlchemy's adapter
asks aiosqlite for a cursor, then executes, fetches every row and closes it, each a separate
call into the thread. :class:`OneTripCursor` does all four in one call (SQLAlchemy fetches
every row of a statement at once anyway; a server-side cursor is buffered the same way, and
none is used on SQLite). A statement cancelled in flight still leaves no open cursor behind.

Their ``sqlite3`` connections are :class:`ClosingConnection` objects, which close their
cursors and roll back before they close. A statement cancelled mid-write makes SQLAlchemy
invalidate its connection (it cannot know the connection's state) and close it, with no
rollback first, while the statement still runs in the thread and opens the write
transaction. Python 3.11's ``sqlite3`` closes with ``sqlite3_close_v2`` and no rollback, and
SQLite keeps a connection that still has an unfinalized statement as a "zombie", its
transaction and write lock included, until the statement is finalized. A cancelled
``INSERT ... RETURNING`` (the bulk chunks' ticket upsert) did that: its rows never fetched,
its cursor kept alive by the ``CancelledError``'s traceback (a reference cycle), the lock
was held until the garbage collector ran, and writers in between failed with "database is
locked" once their busy timeout ran out (tests/store/test_sqlite_cancellation.py).

Bounded reads run in the event loop's thread (:func:`inline_reads`): only what the caller
marks as bounded (one row by key, one keyset page), only a ``SELECT``, and only on a
connection with nothing pending in its thread (so calls never overlap on one connection).
Such a read never suspends while it holds its pooled connection: under a saturated loop a
trip through the thread held the connection for a whole turn of the loop, and 200 clients
then queued for the pool until its timeout (503). Every write, and every read not marked,
still goes through the thread, so a write waiting on SQLite's lock (the busy timeout) never
blocks the loop, and neither does a scan; a read in WAL mode does not wait for writers.
(An earlier attempt ran every read inline and left a write lock behind: that was the zombie
close above, fixed since.)

Small write transactions run in the event loop's thread while they hold SQLite's write lock
(one lock for the whole database, taken by a transaction's first write and held until it
ends). Through the thread, every statement after the first write and the ``COMMIT`` was a
hand-back to the loop and a wait for its next turn, and under 200 clients a turn is tens to
hundreds of milliseconds: a create's transaction (``INSERT``, its read-back ``SELECT``,
``COMMIT``) held the lock ~50 ms on average, up to ~0.7 s, the lock was busy ~85% of the
time, and other writers queued behind it (creates' p50 ~3 s, some 503 after the busy
timeout). Now:

* A small write (at most ``INLINE_WRITE_MAX_PARAMS`` bound values) on an idle connection
  with no transaction open first tries to take the lock without waiting
  (:meth:`TrackedConnection.try_write_lock`: ``BEGIN IMMEDIATE`` under a zero busy
  timeout, restored at once). If another connection holds it, nothing is left open and the
  write goes through the thread, where it waits the busy timeout as before: the loop never
  waits for the lock.
* Once this connection holds the lock, its further small statements and its commit or
  rollback run inline (:meth:`TrackedConnection.holds_write_lock`): nothing then waits on
  another connection. In WAL mode a commit needs no other lock, and the auto-checkpoint
  after it is ``PASSIVE`` (it copies what no reader still needs and never invokes the busy
  handler; it is the one piece of file I/O that can run inline, once per ~1,000 pages
  written, with ``synchronous=NORMAL``).
* "Holds the lock" is tracked exactly: set by a successful ``BEGIN IMMEDIATE`` or after a
  write statement (the ones ``sqlite3`` opens its ``BEGIN`` for) has run without an error in
  an open transaction, cleared after any call that leaves no transaction open.
  ``in_transaction`` alone is not enough: a ``BEGIN`` whose write then failed with
  ``SQLITE_BUSY``, or an ``executemany`` of no rows, leaves a transaction open with no lock,
  and its next write may wait the busy timeout; such statements stay in the thread.
* A big statement stays in the thread, lock or not: a sync page's 100-row upsert is ~12 ms
  of SQLite work, which inline would stall every request on the loop; in the thread it
  holds the lock as long, but the loop keeps serving reads. So does anything on a
  connection with a call pending in its thread (calls never overlap on one connection).

An inline statement cannot be cancelled halfway, so it leaves no zombie behind; the ones
through the thread keep the protections above.
"""

from __future__ import annotations

import contextlib
import sqlite3
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from contextvars import ContextVar
from functools import partial
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

# Set by :func:`inline_reads` for the statements of a bounded read.
_INLINE_READS: ContextVar[bool] = ContextVar("ticketbridge_sqlite_inline_reads", default=False)


@contextlib.contextmanager
def inline_reads() -> Iterator[None]:
    """Lets the ``SELECT`` statements inside run in the event loop's thread when their
    connection is idle. For reads bounded by an index (one row by key, one keyset page):
    the loop does not yield while SQLite works. No effect on other databases."""
    token = _INLINE_READS.set(True)
    try:
        yield
    finally:
        _INLINE_READS.reset(token)


class ClosingConnection(sqlite3.Connection):
    """A ``sqlite3`` connection whose ``close`` ends everything it has open first: its
    cursors' statements (else SQLite keeps the connection as a zombie, with any read
    snapshot it holds) and its transaction (else the zombie keeps the write lock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only aiosqlite's worker thread creates and closes cursors, so no lock is needed.
        self._cursors: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()

    def cursor(  # type: ignore[override]  # one signature for typeshed's two overloads
        self, factory: Callable[[sqlite3.Connection], sqlite3.Cursor] = sqlite3.Cursor
    ) -> sqlite3.Cursor:
        cur = super().cursor(factory)
        self._cursors.add(cur)
        return cur

    # The C shortcuts make their cursor without calling ``cursor``: route them through it.
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        return self.cursor().executescript(script)

    def close(self) -> None:
        # Each step on its own: closing is what matters (and a closed connection raises).
        for cur in list(self._cursors):
            with suppress(sqlite3.Error):
                cur.close()  # resets its statement, so that closing finalizes it
        with suppress(sqlite3.Error):
            if self.in_transaction:
                self.rollback()
        super().close()


# Python's ``sqlite3`` opens a transaction (``BEGIN``, deferred) before these statements,
# recognised by their first word; they take SQLite's write lock as they start.
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")

# Statements of a write transaction run in the event loop's thread up to this many bound
# values (a ticket's INSERT has about 20); bigger ones go through the worker thread.
INLINE_WRITE_MAX_PARAMS = 64


def _is_dml(sql: str) -> bool:
    # Leading comments are not skipped: such a statement is simply not counted (the slow,
    # safe side), never counted wrongly.
    return sql.lstrip()[:7].upper().startswith(_DML)


def _param_count(parameters: Any, many: bool) -> int | None:
    """Bound values of a statement, ``None`` if unknown (an iterator of rows)."""
    if not many:
        return len(parameters) if isinstance(parameters, Sequence | dict) else None
    if not isinstance(parameters, Sequence):
        return None
    return sum(len(row) for row in parameters)


def _small(parameters: Any, many: bool) -> bool:
    n = _param_count(parameters, many)
    return n is not None and n <= INLINE_WRITE_MAX_PARAMS and not (many and n == 0)


def _run_sql(conn: sqlite3.Connection, sql: str) -> Any:
    cur = conn.cursor()
    try:
        return cur.execute(sql).fetchone()
    finally:
        cur.close()


class TrackedConnection(aiosqlite.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sent = 0  # calls handed to the worker thread (event loop thread only)
        self._finished = 0  # calls the thread has finished (worker thread only)
        # The open transaction holds SQLite's write lock (module docstring). Written by
        # whichever thread ran the statement, read in the event loop's thread only when no
        # call is pending.
        self._write_locked = False

    def holds_write_lock(self) -> bool:
        """Idle, in a transaction that holds the write lock (event loop thread only)."""
        conn = self._connection
        return self._write_locked and self.idle() and conn is not None and conn.in_transaction

    def try_write_lock(self) -> bool:
        """Take the write lock now if no other connection holds it, without waiting, in the
        event loop's thread; on an idle connection with no transaction open. Nothing is left
        open when it says no."""
        conn = self._connection
        if not self.idle() or conn is None or conn.in_transaction:
            return False
        if conn.isolation_level is None:  # autocommit: no one would end the transaction
            return False
        (timeout,) = _run_sql(conn, "PRAGMA busy_timeout")
        _run_sql(conn, "PRAGMA busy_timeout=0")
        try:
            _run_sql(conn, "BEGIN IMMEDIATE")
        except sqlite3.Error:
            # Busy (or anything else: the thread path meets it again and reports it). A
            # failed BEGIN opens nothing.
            return False
        finally:
            _run_sql(conn, f"PRAGMA busy_timeout={int(timeout)}")
        self._write_locked = True
        return True

    def _note_transaction(self) -> None:
        # After every call: a transaction that has ended (commit, rollback, or one SQLite
        # rolled back itself after an error) holds no lock any more.
        # A closed connection (the call was ``close``) holds nothing, and raises if asked:
        # this runs in ``counted``'s ``finally``, which must still count the call.
        conn = self._connection
        try:
            open_transaction = conn is not None and conn.in_transaction
        except sqlite3.ProgrammingError:
            open_transaction = False
        if not open_transaction:
            self._write_locked = False

    async def commit(self) -> None:
        await self._end(self._conn.commit)

    async def rollback(self) -> None:
        await self._end(self._conn.rollback)

    async def _end(self, fn: Callable[[], None]) -> None:
        if self.holds_write_lock():
            try:
                fn()
            finally:
                self._note_transaction()
        else:
            await self._execute(fn)

    def in_transaction_now(self) -> bool:
        """Whether SQLite has a transaction open here; True while a call is still pending
        in the thread (it may open one)."""
        conn = self._connection
        return self._sent != self._finished or (conn is not None and conn.in_transaction)

    def idle(self) -> bool:
        """Open, with no call pending in the worker thread (event loop thread only)."""
        return self._sent == self._finished and self._connection is not None and self._running

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def counted() -> Any:  # runs in the worker thread
            try:
                return fn(*args, **kwargs)
            finally:
                self._note_transaction()
                self._finished += 1

        self._sent += 1
        return await super()._execute(counted)  # type: ignore[no-untyped-call]

    @contextmanager
    async def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)


class OneTripCursor:
    """The part of :class:`aiosqlite.Cursor` SQLAlchemy's adapter uses, one thread trip per
    statement: execute, fetch all rows and close the sqlite3 cursor in the worker thread."""

    arraysize = 1

    def __init__(self, conn: TrackedConnection) -> None:
        self._conn = conn
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    def _run(self, sql: str, parameters: Any, many: bool) -> tuple[Any, int, int | None, list[Any]]:
        conn = self._conn
        cur = conn._conn.cursor()  # in the worker thread, or inline (see _call)
        try:
            if many:
                cur.executemany(sql, parameters)
            else:
                cur.execute(sql, parameters)
            # It ran (an executemany of no rows runs nothing: its BEGIN takes no lock), so
            # its write lock is held until the transaction ends.
            if conn._connection is not None and conn._connection.in_transaction:
                if _is_dml(sql) and (not many or _param_count(parameters, many) != 0):
                    conn._write_locked = True
            description = cur.description
            rows = cur.fetchall() if description else []
            # After the fetch: a DML statement's RETURNING rows count as they are stepped.
            return description, cur.rowcount, cur.lastrowid, rows
        finally:
            cur.close()

    async def _call(self, sql: str, parameters: Any, many: bool) -> OneTripCursor:
        conn = self._conn
        if _INLINE_READS.get() and not many and conn.idle() and sql[:6].upper() == "SELECT":
            result = self._run(sql, parameters, many)
        elif _small(parameters, many) and (
            conn.holds_write_lock() or (_is_dml(sql) and conn.try_write_lock())
        ):
            try:
                result = self._run(sql, parameters, many)
            finally:
                conn._note_transaction()
        else:
            result = await conn._execute(self._run, sql, parameters, many)
        self.description, self.rowcount, self.lastrowid, rows = result
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> OneTripCursor:
        return await self._call(sql, () if parameters is None else parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneTripCursor:
        return await self._call(sql, parameters, True)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = min(len(self._rows), self.arraysize if size is None else size)
        return [self._rows.popleft() for _ in range(n)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()  # the sqlite3 cursor was closed in the thread

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def connector(database: str, **kwargs: Any) -> Callable[[], TrackedConnection]:
    """An ``async_creator`` for ``create_async_engine``: what ``aiosqlite.connect`` does,
    with this connection class."""

    def create() -> TrackedConnection:
        conn = TrackedConnection(
            partial(
                sqlite3.connect,
                database,
                check_same_thread=False,
                factory=ClosingConnection,
                **kwargs,
            ),
            64,
        )
        conn._thread.daemon = True  # as SQLAlchemy's dialect does: never blocks exit
        return conn

    return create
