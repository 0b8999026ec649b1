"""A connection-wide vendor concurrency limit shared by every process (distributed mode).

In one process the per-connection semaphore of ``connectors/limits.py`` bounds concurrent
vendor calls. Across API replicas and workers the bound is held in PostgreSQL as *slots*: a
vendor call first takes its process-local semaphore, then one of ``max_concurrency``
session-level advisory locks keyed by (connection, slot) on a connection of a small dedicated
pool, and gives both back when the response arrives. It plugs into the HTTP layer through
``ConnectionLimits.plug``, the hook the connectors offer for it. Advisory locks need no table
and vanish with the session, so a killed process never leaks a slot. Waiting callers poll free
slots with a short jittered sleep; the semaphore in front keeps each process's waiters FIFO,
so one busy job cannot starve another job of the same connection in that process.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.urls import libpq_url

log = get_logger(__name__)


def slot_key(connection_id: str, slot: int) -> int:
    """A signed 64-bit advisory-lock key for (connection, slot)."""
    digest = hashlib.blake2b(f"ticketbridge.vendor:{connection_id}:{slot}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class PgSlotLimiter(asyncio.Semaphore):
    """``async with limiter:`` holds a process-local permit and a PostgreSQL slot.

    A Semaphore subclass because VendorHttp takes one; only ``async with`` is supported."""

    def __init__(self, pool: AsyncConnectionPool[Any], connection_id: str, slots: int) -> None:
        super().__init__(slots)
        self._pool = pool
        self._keys = [slot_key(connection_id, i) for i in range(slots)]
        self._held: dict[asyncio.Task[Any], tuple[psycopg.AsyncConnection[Any], int]] = {}
        self.max_wait_step = 0.05

    async def __aenter__(self) -> None:
        await self.acquire()
        try:
            conn, key = await self._take_slot()
        except BaseException:
            self.release()
            raise
        task = asyncio.current_task()
        assert task is not None
        self._held[task] = (conn, key)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn, key = self._held.pop(task)
        try:
            await asyncio.shield(self._give_back(conn, key))
        finally:
            self.release()

    async def _take_slot(self) -> tuple[psycopg.AsyncConnection[Any], int]:
        delay = 0.005
        while True:
            conn = await self._pool.getconn()
            try:
                for key in random.sample(self._keys, len(self._keys)):
                    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                    row = await cur.fetchone()
                    if row and row[0]:
                        return conn, key
            except BaseException:
                await self._pool.putconn(conn)
                raise
            await self._pool.putconn(conn)
            await asyncio.sleep(random.uniform(0, delay))
            delay = min(self.max_wait_step, delay * 2)

    async def _give_back(self, conn: psycopg.AsyncConnection[Any], key: int) -> None:
        try:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        except Exception as exc:
            # A connection that may still hold the lock must not go back to the pool.
            log.warning("vendor_slot_unlock_failed", error=type(exc).__name__)
            await conn.close()
        await self._pool.putconn(conn)


@asynccontextmanager
async def open_slot_pool(url: str, size: int) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        libpq_url(url), min_size=1, max_size=size, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def install_distributed_limiter(runtime: Runtime) -> AsyncIterator[None]:
    """Per-connection limiters that also hold a PostgreSQL slot, while the block runs."""
    settings = runtime.settings
    if settings.is_sqlite:
        yield
        return
    # Slots are held only for the duration of one HTTP exchange; a few dozen connections
    # serve many vendor connections because holders release quickly.
    size = max(4, min(64, settings.vendor_max_concurrency * 4))
    async with open_slot_pool(settings.resolved_database_url, size) as pool:

        def slots(connection_id: str, max_concurrency: int) -> asyncio.Semaphore:
            return PgSlotLimiter(pool, connection_id, max_concurrency)

        with runtime.connectors.limits.plug(slots):
            yield
