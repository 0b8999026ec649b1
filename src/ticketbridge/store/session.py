"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout.

A SQLite file holds every tenant's data: its folder is created 0700 and the file 0600 before
SQLite opens it (SQLite gives its -wal and -shm files the database file's mode).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ticketbridge.store.urls import async_url


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Writers queue instead of failing with "database is locked" while the runner works.
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


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


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    aurl = async_url(url)
    u = make_url(aurl)
    if u.get_backend_name() == "sqlite":
        prepare_sqlite_file(aurl)
        engine = create_async_engine(aurl, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        aurl, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
