"""The sync domain's worker tasks (distributed mode), registered with the job engine by
``register``.

- ``sync.schedule`` (periodic, every 30 s): defers ``sync.run(connection_id)`` for each active
  connection whose refresh interval has elapsed (the embedded scheduler's rule, reused).
- ``sync.run(connection_id)``: :func:`ticketbridge.sync.service.run_sync`. A procrastinate
  ``lock`` per connection queues a second sync of one connection behind the first, and the
  sync's own lease in ``sync_states`` still guards against any other runner.

In embedded mode the API process's :class:`~ticketbridge.sync.scheduler.SyncScheduler` does
both instead (app.py).
"""

from __future__ import annotations

import uuid

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from ticketbridge.errors import Conflict
from ticketbridge.jobs.procrastinate_runner import runtime_of
from ticketbridge.jobs.registry import Handlers, WorkerTask
from ticketbridge.logging import get_logger
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.sync.scheduler import SyncScheduler
from ticketbridge.sync.service import run_sync as sync_connection

log = get_logger(__name__)

SYNC_TASK = "sync.run"
SCHEDULE_TASK = "sync.schedule"


async def schedule_syncs(context: procrastinate.JobContext, timestamp: int) -> None:
    runtime = runtime_of(context)
    async with runtime.session() as s:
        rows = await SyncRepository(s).schedule()
    # The embedded scheduler's own rule (interval since last success, retry delay after a
    # failure, skip a live lease); this process runs no syncs itself, so nothing "runs" here.
    due = SyncScheduler(runtime, periodic=False).due(rows)
    for connection_id in due:
        try:
            await context.app.configure_task(
                SYNC_TASK, queueing_lock=f"sync:{connection_id}", lock=f"sync:{connection_id}"
            ).defer_async(connection_id=str(connection_id))
        except AlreadyEnqueued:
            pass


async def run_sync(context: procrastinate.JobContext, connection_id: str) -> None:
    try:
        await sync_connection(runtime_of(context), uuid.UUID(connection_id))
    except Conflict as exc:  # another runner holds the connection's sync lease, or disabled
        log.info("sync_skipped", connection_id=connection_id, reason=exc.message)


def register(handlers: Handlers) -> None:
    handlers.add_worker_task(WorkerTask(SYNC_TASK, run_sync))
    # periodic_id "schedule": the id procrastinate has always known this tick by.
    handlers.add_worker_task(
        WorkerTask(SCHEDULE_TASK, schedule_syncs, cron="* * * * * */30", periodic_id="schedule")
    )
