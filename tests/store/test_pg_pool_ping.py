"""PostgreSQL's pool: a connection idle for a while is pinged (and replaced when the server
dropped it) before anyone uses it; one given back moments ago is used as it is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketbridge.store import session as store_session
from ticketbridge.store.urls import libpq_url


@pytest.fixture(params=["postgres"])
def db_url(pg_server_url: str) -> str:
    return pg_server_url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = store_session.create_engine(db_url, pool_size=1)
    yield engine
    await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as c:
        return int((await c.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def count_pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    adapter = AsyncAdapt_asyncpg_connection
    ping = adapter.ping

    def counted(self: Any) -> None:
        pings.append(1)
        ping(self)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(adapter, "ping", counted)
    return pings


class TestPing:
    async def test_a_connection_used_moments_ago_is_not_pinged(
        self, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first = await backend_pid(engine)
        pings = count_pings(monkeypatch)

        again = [await backend_pid(engine) for _ in range(5)]

        assert again == [first] * 5 and pings == []

    async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
        self, engine: AsyncEngine, db_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dropped = await backend_pid(engine)
        with psycopg.connect(libpq_url(db_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (dropped,))
        monkeypatch.setattr(store_session, "PING_IDLE_SECS", 0.0)  # "idle for long enough"
        pings = count_pings(monkeypatch)

        fresh = await backend_pid(engine)

        assert fresh != dropped and pings  # the dead one failed its ping, unseen
