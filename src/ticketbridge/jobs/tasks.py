"""procrastinate tasks (distributed mode). Names follow ``"<domain>.<verb>"``.

- ``jobs.run(job_id)``: execute one job row (:func:`~ticketbridge.jobs.runner.execute_job`).
- ``jobs.recover`` (periodic, every 5 s): retries the procrastinate tasks of workers that
  stopped heartbeating (killed), and re-defers job rows nobody is working on (an API process
  died between its commit and the defer; a job released for a later retry).
- ``sync.schedule`` (periodic, every 30 s): defers ``sync.run(connection_id)`` for each active
  connection whose refresh interval has elapsed (the embedded scheduler's rule, reused);
  ``sync.run`` calls :func:`ticketbridge.sync.service.run_sync`. A procrastinate ``lock`` per
  connection queues a second sync of one connection behind the first, and the sync's own
  lease in ``sync_states`` still guards against any other runner.

Periodic tasks are deferred by every worker's scheduler, but procrastinate keeps one task per
tick (unique periodic id + timestamp), so each tick runs once across the fleet.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from ticketbridge.jobs.procrastinate_runner import (
    STALLED_SECS,
    defer_run,
    runtime_of,
)
from ticketbridge.jobs.repository import JobRepository
from ticketbridge.jobs.runner import execute_job, process_owner
from ticketbridge.logging import get_logger
from ticketbridge.store.base import utcnow

log = get_logger(__name__)

# A QUEUED row older than this without a running task is presumed lost on its way to the queue.
QUEUED_GRACE_SECS = 10.0
SYNC_TASK = "sync.run"


async def run_job(context: procrastinate.JobContext, job_id: str) -> None:
    owner = process_owner(f"worker-{context.worker_name or 'worker'}")
    await execute_job(runtime_of(context), uuid.UUID(job_id), owner=owner)


async def recover(context: procrastinate.JobContext, timestamp: int) -> None:
    manager = context.app.job_manager
    for stalled in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECS):
        log.info("task_stalled_retry", task=stalled.task_name, task_id=stalled.id)
        await manager.retry_job(stalled)
    now = utcnow()
    async with runtime_of(context).session() as s:
        ids = await JobRepository(s).stale(
            now, queued_before=now - timedelta(seconds=QUEUED_GRACE_SECS), limit=500
        )
    for job_id in ids:
        await defer_run(context.app, job_id)


async def schedule_syncs(context: procrastinate.JobContext, timestamp: int) -> None:
    from ticketbridge.sync.repository import SyncRepository
    from ticketbridge.sync.scheduler import SyncScheduler

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
    from ticketbridge.errors import Conflict
    from ticketbridge.sync.service import run_sync as sync_connection

    try:
        await sync_connection(runtime_of(context), uuid.UUID(connection_id))
    except Conflict as exc:  # another runner holds the connection's sync lease, or disabled
        log.info("sync_skipped", connection_id=connection_id, reason=exc.message)


def register_tasks(app: procrastinate.App) -> None:
    app.task(name="jobs.run", pass_context=True)(run_job)
    recover_task = app.task(name="jobs.recover", pass_context=True)(recover)
    app.periodic(cron="* * * * * */5", periodic_id="recover")(recover_task)
    app.task(name=SYNC_TASK, pass_context=True)(run_sync)
    schedule_task = app.task(name="sync.schedule", pass_context=True)(schedule_syncs)
    app.periodic(cron="* * * * * */30", periodic_id="schedule")(schedule_task)
