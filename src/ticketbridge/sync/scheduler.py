"""The embedded sync scheduler: background syncs inside the API process.

One :class:`SyncScheduler` per process tracks the sync tasks it started (manual triggers from
``POST /v1/itsm/sync`` and periodic ones). With ``periodic=True`` it wakes every ``tick_secs``
and starts a sync for each active connection whose ``refresh_interval_secs`` has elapsed since
its last success (a failed run is retried after ``retry_secs``, not on every tick). The
database lease in ``sync_states`` is what really prevents two runners (processes, replicas)
from syncing one connection at once; the in-process task map only answers "already running"
quickly. In distributed mode workers drive :func:`run_sync` from periodic tasks instead
(the ``sync.schedule`` worker task).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import Any

from ticketbridge.config import Settings
from ticketbridge.errors import Conflict
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.sync.repository import ScheduleRow, SyncRepository
from ticketbridge.sync.service import SyncAlreadyRunning, SyncConfig, SyncResult, run_sync

log = get_logger(__name__)


class SyncScheduler:
    def __init__(
        self,
        runtime: Runtime,
        *,
        periodic: bool,
        tick_secs: float = 30.0,
        retry_secs: float = 300.0,
        max_concurrent: int = 4,
        config: SyncConfig | None = None,
    ) -> None:
        self.runtime = runtime
        self.periodic = periodic
        self.tick_secs = tick_secs
        self.retry_secs = retry_secs
        self.config = config
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: dict[uuid.UUID, asyncio.Task[SyncResult | None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def running(self, connection_id: uuid.UUID) -> bool:
        task = self._tasks.get(connection_id)
        return task is not None and not task.done()

    def task(self, connection_id: uuid.UUID) -> asyncio.Task[SyncResult | None] | None:
        return self._tasks.get(connection_id)

    def start(
        self, connection_id: uuid.UUID, *, full: bool = False
    ) -> asyncio.Task[SyncResult | None]:
        """Start a background sync; Conflict (409) when this process already runs one."""
        if self.running(connection_id):
            raise SyncAlreadyRunning("a sync of this connection is already running")
        task = asyncio.create_task(self._run(connection_id, full), name=f"sync:{connection_id}")
        self._tasks[connection_id] = task
        task.add_done_callback(lambda t: self._forget(connection_id, t))
        return task

    def _forget(self, connection_id: uuid.UUID, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(connection_id) is task:
            del self._tasks[connection_id]

    async def _run(self, connection_id: uuid.UUID, full: bool) -> SyncResult | None:
        async with self._slots:
            try:
                return await run_sync(self.runtime, connection_id, full=full, config=self.config)
            except Conflict as exc:
                log.info("sync_skipped", connection_id=str(connection_id), reason=exc.message)
            except Exception as exc:  # recorded in the sync state by run_sync; keep the loop alive
                log.warning(
                    "sync_task_failed", connection_id=str(connection_id), error=type(exc).__name__
                )
            return None

    def due(self, rows: list[ScheduleRow]) -> list[uuid.UUID]:
        now = utcnow()
        out = []
        for row in rows:
            if self.running(row.connection_id):
                continue
            if row.lease_expires_at is not None and row.lease_expires_at > now:
                continue  # another runner holds it
            interval = timedelta(seconds=max(1, row.refresh_interval_secs))
            if row.last_success_at is not None and now - row.last_success_at < interval:
                continue
            retry = timedelta(seconds=min(self.retry_secs, interval.total_seconds()))
            failed_recently = row.last_finished_at is not None and (
                row.last_success_at is None or row.last_finished_at > row.last_success_at
            )
            if failed_recently and row.last_finished_at and now - row.last_finished_at < retry:
                continue
            out.append(row.connection_id)
        return out

    async def tick(self) -> list[uuid.UUID]:
        """Start every due sync; returns the connections started."""
        async with self.runtime.session() as s:
            rows = await SyncRepository(s).schedule()
        started = self.due(rows)
        for connection_id in started:
            self.start(connection_id)
        return started

    async def _forever(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # a failed tick (database hiccup) must not stop the loop
                log.warning("sync_tick_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.tick_secs)

    async def __aenter__(self) -> SyncScheduler:
        self._stop = asyncio.Event()
        if self.periodic:
            self._loop = asyncio.create_task(self._forever(), name="sync-scheduler")
        return self

    async def __aexit__(self, *exc: object) -> None:
        # The loop stops between ticks (a tick is short: one query); syncs are cancelled.
        # A cancelled sync records FAILED and keeps its checkpoint: the next start resumes.
        self._stop.set()
        if self._loop is not None:
            await self._loop
        tasks: list[asyncio.Task[Any]] = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def runs_periodically(settings: Settings) -> bool:
    """The API process's scheduler always tracks manual syncs; it also starts due syncs on
    its own only in embedded mode with ``scheduler_enabled`` (workers do it when
    distributed)."""
    return settings.scheduler_enabled and settings.mode == "embedded"
