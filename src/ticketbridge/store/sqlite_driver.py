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

Reads could also run in the event loop's thread (no lock wait in WAL mode); that was tried
and dropped: it left a write lock behind in a property test whose app is stopped while a
sync is cancelled, probably this same close (bench/README.md).
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any

import aiosqlite


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


class TrackedConnection(aiosqlite.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sent = 0  # calls handed to the worker thread (event loop thread only)
        self._finished = 0  # calls the thread has finished (worker thread only)

    def in_transaction_now(self) -> bool:
        """Whether SQLite has a transaction open here; True while a call is still pending
        in the thread (it may open one)."""
        conn = self._connection
        return self._sent != self._finished or (conn is not None and conn.in_transaction)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def counted() -> Any:  # runs in the worker thread
            try:
                return fn(*args, **kwargs)
            finally:
                self._finished += 1

        self._sent += 1
        return await super()._execute(counted)  # type: ignore[no-untyped-call]


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
