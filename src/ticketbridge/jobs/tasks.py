"""procrastinate tasks (distributed mode). Names follow ``"<domain>.<verb>"``.

The engine's own tasks:

- ``jobs.run(job_id)``: execute one job row (:func:`~ticketbridge.jobs.runner.execute_job`).
- ``jobs.recover`` (periodic, every 5 s): retries the procrastinate tasks of workers that
  stopped heartbeating (killed), and re-defers job rows nobody is working on (an API process
  died between its commit and the defer; a job released for a later retry).

plus each domain's :class:`~ticketbridge.jobs.registry.WorkerTask` from the
:class:`~ticketbridge.jobs.registry.Handlers` the process was given (``sync.schedule`` and
``sync.run`` come from sync/tasks.py).

Periodic tasks are deferred by every worker's scheduler, but procrastinate keeps one task per
tick (unique periodic id + timestamp), so each tick runs once across the fleet.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import procrastinate

from ticketbridge.jobs.procrastinate_runner import (
    RUN_TASK,
    STALLED_SECS,
    defer_run,
    runtime_of,
)
from ticketbridge.jobs.registry import Handlers
from ticketbridge.jobs.repository import JobRepository
from ticketbridge.jobs.runner import execute_job, process_owner
from ticketbridge.logging import get_logger
from ticketbridge.store.base import utcnow

log = get_logger(__name__)

# A QUEUED row older than this without a running task is presumed lost on its way to the queue.
QUEUED_GRACE_SECS = 10.0


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


def register_tasks(app: procrastinate.App, handlers: Handlers) -> None:
    async def run_job(context: procrastinate.JobContext, job_id: str) -> None:
        owner = process_owner(f"worker-{context.worker_name or 'worker'}")
        await execute_job(runtime_of(context), uuid.UUID(job_id), owner=owner, handlers=handlers)

    app.task(name=RUN_TASK, pass_context=True)(run_job)
    recover_task = app.task(name="jobs.recover", pass_context=True)(recover)
    app.periodic(cron="* * * * * */5", periodic_id="recover")(recover_task)
    for spec in handlers.worker_tasks.values():
        task = app.task(name=spec.name, pass_context=True)(spec.fn)
        if spec.cron is not None:
            app.periodic(cron=spec.cron, periodic_id=spec.periodic_id or spec.name)(task)
