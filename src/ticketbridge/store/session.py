"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout.

A SQLite file holds every tenant's data: its folder is created 0700 and the file 0600 before
SQLite opens it (SQLite gives its -wal and -shm files the database file's mode).

Sessions check a pooled connection out on first use and give it back when their transaction
ends. A service ends a read-only transaction with :func:`release_connection` before it calls
a vendor, so a slow vendor holds no database connection (docs/security.md, "Bounded
resources"); its writes then run in a fresh short transaction that the request or job
boundary commits.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from ticketbridge.logging import get_logger
from ticketbridge.store import changes
from ticketbridge.store.sqlite_driver import TrackedConnection, connector
from ticketbridge.store.urls import async_url

log = get_logger(__name__)

# Pool bounds: a request that cannot get a connection within POOL_TIMEOUT_SECS fails fast
# (503 with Retry-After) instead of queueing behind others for the driver's default 30 s.
POOL_SIZE = 10
POOL_TIMEOUT_SECS = 5.0
_WROTE = "ticketbridge.wrote"
_TABLES = "ticketbridge.tables"


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Writers queue instead of failing with "database is locked" while the runner works.
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _skip_idle_transaction_ends(engine: AsyncEngine) -> None:
    """Commit and rollback only where SQLite has a transaction open (store/sqlite_driver.py):
    the answer comes from SQLite itself, and is "yes" while a call is pending in the thread."""
    dialect = engine.sync_engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def commit(dbapi_connection: Any) -> None:
        if _in_transaction(dbapi_connection):
            do_commit(dbapi_connection)

    def rollback(dbapi_connection: Any) -> None:
        if _in_transaction(dbapi_connection):
            do_rollback(dbapi_connection)

    dialect.do_commit = commit  # type: ignore[method-assign]
    dialect.do_rollback = rollback  # type: ignore[method-assign]


def _in_transaction(dbapi_connection: Any) -> bool:
    # pool fairy -> SQLAlchemy's aiosqlite adapter -> our aiosqlite connection, which also
    # knows whether a call is still pending in its thread (a cancelled INSERT may open a
    # transaction after this check; then the rollback must be queued behind it). Anything
    # else is answered "yes", which only costs the round trip.
    conn = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
    inner = getattr(conn, "_connection", None)
    if isinstance(inner, TrackedConnection):
        return inner.in_transaction_now()
    return True


# An integer of 20 digits or more may not fit orjson's 64 bits (it reads it as a float).
_LONG_NUMBER = re.compile(r"\d{20}")


def json_loads(text: str | bytes) -> Any:
    """``json.loads(text)``, read by orjson (a ticket page decodes two JSON columns per row:
    a tenth of its CPU with the standard library) unless the text may hold what orjson reads
    differently (a long integer) or not at all (``NaN``, a lone surrogate)."""
    if _LONG_NUMBER.search(text if isinstance(text, str) else text.decode()) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def prepare_sqlite_file(url: str) -> None:
    """Create the folder (0700) and the empty database file (0600) of a SQLite ``url``."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return
    path = Path(u.database)
    if not path.parent.is_dir():
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.parent.mkdir(mode=0o700)
            os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
        except FileExistsError:
            pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def create_engine(
    url: str, *, pool_size: int = POOL_SIZE, pool_timeout: float = POOL_TIMEOUT_SECS
) -> AsyncEngine:
    aurl = async_url(url)
    u = make_url(aurl)
    if u.get_backend_name() == "sqlite":
        prepare_sqlite_file(aurl)
        pool: dict[str, Any] = {}
        if u.database and u.database != ":memory:":
            # The same bound as PostgreSQL's (pool_size + as many overflow), but every
            # connection kept: an overflow connection is opened (a file, its pragmas and an
            # aiosqlite thread) and closed again per checkout, which under 20 concurrent bulk
            # requests was 4-5% of the event loop. A kept SQLite connection costs a file
            # handle, a thread and its page cache.
            pool = {"pool_size": 2 * pool_size, "max_overflow": 0, "pool_timeout": pool_timeout}
        if u.database and u.database != ":memory:":
            # Connections that say whether a transaction is open (store/sqlite_driver.py).
            pool["async_creator"] = connector(u.database, timeout=30)
        engine = create_async_engine(
            aurl, connect_args={"timeout": 30}, json_deserializer=json_loads, **pool
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        _skip_idle_transaction_ends(engine)
        return engine
    engine = create_async_engine(
        aurl, pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout
    )
    _ping_idle_connections(engine)
    return engine


# A pooled PostgreSQL connection is pinged on checkout only after this long unused.
PING_IDLE_SECS = 2.0
_CHECKED_IN = "ticketbridge.checked_in"


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, only for connections idle for ``PING_IDLE_SECS``.

    asyncpg's ping is three round trips (BEGIN, ``;``, ROLLBACK: SQLAlchemy wraps it in a
    transaction for pgbouncer), on every checkout: more than a ticket read's own statements.
    A connection given back to the pool moments ago was alive then; one that sat idle may
    have been closed by the server (restart, idle timeout), so it is pinged and, if dead,
    replaced before anyone uses it (SQLAlchemy's pessimistic disconnect handling: raising
    ``DisconnectionError`` on checkout makes the pool retry with a fresh connection). What is
    left: the server dropping a connection within that window fails the one statement that
    meets it (a 503), and SQLAlchemy then discards the pool's other connections."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()  # just opened: alive

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is not None and time.monotonic() - since < PING_IDLE_SECS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=UnitSession
    )


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for units of work that only read (never write through one). On PostgreSQL
    their statements run in autocommit: each statement is its own snapshot, as under READ
    COMMITTED in a transaction, without a BEGIN and a ROLLBACK round trip around them. SQLite
    opens no transaction for a read anyway: the plain sessions."""
    if engine.dialect.name != "postgresql":
        return create_sessionmaker(engine)
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


class UnitSession(Session):
    """A session that remembers whether its current transaction wrote anything, so that
    :func:`release_connection` can tell a read phase (safe to end) from a write phase."""


@event.listens_for(UnitSession, "after_flush")
def _flushed(session: Session, _: Any) -> None:
    session.info[_WROTE] = True
    tables: set[str] = session.info.setdefault(_TABLES, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        tables.update(t.name for t in inspect(obj).mapper.tables)


@event.listens_for(UnitSession, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True
        if state.execution_options.get(changes.KEEPS_CACHES_OPTION):
            return
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if isinstance(name, str):
            state.session.info.setdefault(_TABLES, set()).add(name)


@event.listens_for(UnitSession, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)
        # After the commit (or rollback: harmless), so that a cache entry read before it is
        # stale from now on (store/changes.py).
        changes.bump(session.info.pop(_TABLES, ()))


def note_write(session: AsyncSession, table: str) -> None:
    """Record a write executed below the ORM (``exec_driver_sql``) as ``_executed`` records
    an ``insert``/``update``/``delete`` statement: the transaction wrote, and ``table``'s
    caches go stale once it ends."""
    info = session.sync_session.info
    info[_WROTE] = True
    info.setdefault(_TABLES, set()).add(table)


def has_writes(session: AsyncSession) -> bool:
    sync = session.sync_session
    return bool(sync.new or sync.dirty or sync.deleted or sync.info.get(_WROTE))


async def release_connection(session: AsyncSession) -> bool:
    """End the read phase before a vendor call: the transaction ends and its connection goes
    back to the pool; the next statement opens a fresh transaction (loaded objects stay
    usable: ``expire_on_commit=False``).

    Only a transaction that wrote nothing is ended (its commit changes nothing). One that
    wrote is kept, connection and all: ending it would make those writes durable before the
    vendor call, or lose them; the boundary must stay the one that decides. That is logged,
    as it holds a connection across the call. Returns whether the connection was released."""
    if not session.in_transaction():
        return True
    if has_writes(session):
        log.warning("db_connection_held_across_vendor_call")
        return False
    await session.commit()
    return True
