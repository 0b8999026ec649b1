"""Data folder 0700, SQLite files 0600 (incl. WAL/SHM) and the key file 0600 on creation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ticketbridge.config import Settings
from ticketbridge.runtime import open_runtime
from ticketbridge.store.migrate import upgrade


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.usefixtures("usual_umask")
@pytest.mark.parametrize("migrate_first", [True, False], ids=["serve", "runtime-first"])
async def test_fresh_data_folder_is_private(tmp_path: Path, migrate_first: bool) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    if migrate_first:
        upgrade(settings.resolved_database_url)
    async with open_runtime(settings) as rt:
        async with rt.engine.begin() as conn:  # a write: SQLite makes its -wal and -shm files
            await conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        data = tmp_path / "data"
        db = data / "ticketbridge.db"
        assert mode(data) == 0o700
        assert mode(data / "secret.key") == 0o600
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            assert path.exists() and mode(path) == 0o600, path


@pytest.mark.usefixtures("usual_umask")
def test_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    upgrade(Settings(data_dir=data).resolved_database_url)
    assert mode(data) == 0o750 and mode(data / "ticketbridge.db") == 0o600
