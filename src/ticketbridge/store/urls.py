"""Database URL normalisation: users write plain URLs, we pick the drivers.

The service runs on async drivers (aiosqlite, asyncpg); migrations run on sync drivers
(sqlite3, psycopg) so that they work the same from the CLI, start-up and test fixtures.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url


def async_url(url: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database backend: {u.get_backend_name()}")


def sync_url(url: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite").render_as_string(hide_password=False)
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database backend: {u.get_backend_name()}")


def libpq_url(url: str) -> str:
    """A plain ``postgresql://`` URL, as psycopg/procrastinate want it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
