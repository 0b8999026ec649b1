"""A connection-wide vendor concurrency limit shared by every process (distributed mode).

In one process the per-connection semaphore of ``connectors/limits.py`` bounds concurrent
vendor calls. Across API replicas and workers the bound is held in PostgreSQL as *slots*: a
vendor call first takes its process-local semaphore, then one of ``max_concurrency``
session-level advisory locks keyed by (connection, slot) on a connection of a small dedicated
pool, and gives both back when the response arrives. It plugs into the HTTP layer through
``ConnectionLimits.plug``, the hook the connectors offer for it. Advisory locks need no table
and vanish with the session, so a killed process never leaks a slot.

Taking a slot is one round trip whatever the number of slots (:data:`TRY_SLOTS` tries them
in turn and stops at the first free one). When all are taken, one waiter per process polls
(the others queue behind it in FIFO order, so one busy job cannot starve another job of the
same connection in that process), with a short jittered back-off, and it tries again at once
when a slot of its own process is given back. Every waiter polling every slot made a busy
API process spend most of its time, and PostgreSQL's, on failed tries: under the load
scenario, vendor calls waited about 2 s for a slot.
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


# Tries the keys in order and stops at the first lock it gets: a recursive CTE evaluates a
# step only for a row whose try failed, so at most one lock is taken (a plain ``WHERE
# pg_try_advisory_lock(k) LIMIT 1`` gives no such guarantee). Answers that key, or no row.
TRY_SLOTS = """
WITH RECURSIVE t(i, got) AS (
    SELECT 1, pg_try_advisory_lock((%(keys)s::bigint[])[1])
    UNION ALL
    SELECT i + 1, pg_try_advisory_lock((%(keys)s::bigint[])[i + 1])
    FROM t WHERE NOT got AND i < cardinality(%(keys)s::bigint[])
)
SELECT (%(keys)s::bigint[])[i] FROM t WHERE got
"""


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
        self._start = random.randrange(slots) if slots else 0
        self._held: dict[asyncio.Task[Any], tuple[psycopg.AsyncConnection[Any], int]] = {}
        self.max_wait_step = 0.05
        self._polling = asyncio.Lock()  # one waiter of this process polls; the rest queue
        self._freed = asyncio.Event()  # set when this process gives a slot back

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
        async with self._polling:
            conn = await self._pool.getconn()
            try:
                return conn, await self._poll(conn)
            except BaseException:
                # A try cut short may have taken a lock: only a closed session surely holds none.
                await conn.close()
                await self._pool.putconn(conn)
                raise

    async def _poll(self, conn: psycopg.AsyncConnection[Any]) -> int:
        # Each process starts at another slot, so concurrent first tries rarely collide.
        keys = self._keys[self._start :] + self._keys[: self._start]
        delay = 0.005
        while True:
            self._freed.clear()
            cur = await conn.execute(TRY_SLOTS, {"keys": keys})
            row = await cur.fetchone()
            if row is not None:
                return int(row[0])
            try:
                await asyncio.wait_for(self._freed.wait(), random.uniform(0, delay))
            except TimeoutError:
                delay = min(self.max_wait_step, delay * 2)

    async def _give_back(self, conn: psycopg.AsyncConnection[Any], key: int) -> None:
        try:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        except Exception as exc:
            # A connection that may still hold the lock must not go back to the pool.
            log.warning("vendor_slot_unlock_failed", error=type(exc).__name__)
            await conn.close()
        await self._pool.putconn(conn)
        self._freed.set()


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
