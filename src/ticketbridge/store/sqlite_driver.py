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

Reads could also run in the event loop's thread (no lock wait in WAL mode); that was tried
and dropped: it left a write lock behind in a property test whose app is stopped while a
sync is cancelled, for a reason not yet found (bench/README.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite


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
            partial(sqlite3.connect, database, check_same_thread=False, **kwargs), 64
        )
        conn._thread.daemon = True  # as SQLAlchemy's dialect does: never blocks exit
        return conn

    return create
