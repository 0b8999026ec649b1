"""What every CLI command but ``serve`` does first: find the service's existing database.

``serve`` creates the SQLite file on first start. Every other command only uses one: run
from another directory, the relative ``TICKETBRIDGE_DATA_DIR`` (default ``data``) pointed at a
new empty database and secret key, and a later "connection not found" hid the real mistake.
Now such a command says where it looked and how to point it, in one line, and creates
nothing. PostgreSQL is never migrated implicitly by these commands either.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from ticketbridge.cli_keys import fail
from ticketbridge.config import Settings
from ticketbridge.store.urls import sync_url


def sqlite_path(settings: Settings) -> Path | None:
    if not settings.is_sqlite:
        return None
    return Path(make_url(settings.resolved_database_url).database or "")


def require_database(settings: Settings) -> None:
    """Exit 2 with one line unless the configured database exists and has our schema.

    An existing SQLite file is brought to the code's schema (as ``serve`` would do)."""
    path = sqlite_path(settings)
    if path is not None:
        if not path.is_file():
            fail(
                f"no ticketbridge database at {path} (TICKETBRIDGE_DATA_DIR="
                f"{os.environ.get('TICKETBRIDGE_DATA_DIR', str(settings.data_dir))!r}, "
                f"resolved from {Path.cwd()}); run this where `ticketbridge serve` runs, or set "
                "TICKETBRIDGE_DATA_DIR (or TICKETBRIDGE_DATABASE_URL) to the service's",
                2,
            )
        from ticketbridge.store.migrate import upgrade

        upgrade(settings.resolved_database_url)
        return
    current, head = _revisions(settings.resolved_database_url)
    if current != head:
        state = "has no ticketbridge schema" if current is None else f"is at revision {current}"
        fail(f"the database {state}: run `ticketbridge db upgrade` first", 2)


def _revisions(url: str) -> tuple[str | None, str | None]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from ticketbridge.store.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # unreachable server, bad credentials: the class says which
        where = make_url(url).render_as_string(hide_password=True)
        fail(f"cannot reach the database at {where} ({type(exc).__name__})", 2)
    finally:
        engine.dispose()
    return current, head
