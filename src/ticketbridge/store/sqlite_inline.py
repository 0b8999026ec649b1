"""aiosqlite connections that run reads in the event loop's thread.

aiosqlite runs every call on a connection (cursor, execute, fetch, close) in a worker thread
and hands the result back through the event loop: four thread round trips for one SELECT,
each costlier than the query itself (a keyed read is tens of microseconds in SQLite), and
each one waits for the thread to be scheduled and for the GIL when the machine is busy.
That wait, not computation, was most of an authenticated request's time.

A read in WAL mode never waits for a lock (readers do not block writers or each other), so
it cannot stall the loop: here a ``SELECT``, fetching its rows, and creating or closing a
cursor run inline. Everything that may wait for SQLite's write lock or write to disk
(``INSERT``/``UPDATE``/``DELETE``, ``BEGIN``, ``COMMIT``, pragmas, ``executemany``) still goes
through the worker thread. Inline reads are switched on per connection only once
``PRAGMA journal_mode=WAL`` has answered ``wal`` (``session.py``); without WAL a read could
wait for a writer, and everything stays in the thread.

Calls on one connection never overlap (SQLAlchemy awaits each before the next), so the thread
and the loop never use the ``sqlite3`` connection at the same time; it is opened with
``check_same_thread=False`` as SQLAlchemy's own aiosqlite dialect does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

_READS = frozenset({"cursor", "fetchone", "fetchmany", "fetchall", "close"})


class InlineReadConnection(aiosqlite.Connection):
    inline_reads = False  # set once the connection is known to be in WAL mode

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.inline_reads and _is_read(fn, args):
            if not self._running or not self._connection:
                raise ValueError("Connection closed")
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _is_read(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    name = getattr(fn, "__name__", "")
    owner = getattr(fn, "__self__", None)
    if name == "execute" and isinstance(owner, sqlite3.Cursor):
        return bool(args) and isinstance(args[0], str) and _select(args[0])
    if name == "cursor":
        return isinstance(owner, sqlite3.Connection)
    return name in _READS and isinstance(owner, sqlite3.Cursor)


def _select(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


def connector(database: str, **kwargs: Any) -> Callable[[], InlineReadConnection]:
    """An ``async_creator`` for ``create_async_engine``: what ``aiosqlite.connect`` does,
    with this connection class."""

    def create() -> InlineReadConnection:
        conn = InlineReadConnection(
            partial(sqlite3.connect, database, check_same_thread=False, **kwargs), 64
        )
        conn._thread.daemon = True  # as SQLAlchemy's dialect does: never blocks exit
        return conn

    return create


def enable_inline_reads(dbapi_connection: Any) -> None:
    """Called by the pragma listener once WAL is on (SQLAlchemy's adapter wraps ours)."""
    conn = getattr(dbapi_connection, "_connection", None)
    if isinstance(conn, InlineReadConnection):
        conn.inline_reads = True
