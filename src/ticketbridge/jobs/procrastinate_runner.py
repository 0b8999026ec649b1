"""The distributed runner: procrastinate (PostgreSQL) dispatches jobs to ``ticketbridge worker``.

API processes only enqueue: the ``jobs`` row is committed by the request, then the
procrastinate task ``jobs.run`` is deferred, which wakes a waiting worker at once
(LISTEN/NOTIFY, procrastinate's own wake-up). The task carries nothing but the job id, so the
row stays the single source of truth and a task delivered twice is harmless (the second claim
finds the job leased or finished). Losses on the way (an API process dying between its commit
and the defer, a worker killed mid-job) are repaired by the periodic ``jobs.recover`` task
(see tasks.py).

procrastinate's own tables and functions live in the ``public`` schema next to ours (its
default; every object is prefixed ``procrastinate_``) and are created by
``ticketbridge db upgrade`` in distributed mode (:func:`apply_schema`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import procrastinate
import psycopg
from procrastinate.exceptions import AlreadyEnqueued

from ticketbridge.config import Settings
from ticketbridge.jobs.registry import Handlers
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime, open_runtime
from ticketbridge.store.urls import libpq_url

log = get_logger(__name__)

RUN_TASK = "jobs.run"
# Workers heartbeat every few seconds; a worker silent for STALLED_SECS is presumed dead and
# its running tasks are retried by jobs.recover.
HEARTBEAT_SECS = 2.0
STALLED_SECS = 10.0


def build_app(
    settings: Settings, *, handlers: Handlers | None = None, pool_size: int = 4
) -> procrastinate.App:
    """A procrastinate app with the engine's tasks and, for a worker, the domains' ones
    (``handlers``). An API process only defers ``jobs.run`` and passes none."""
    from ticketbridge.jobs.tasks import register_tasks

    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(settings.resolved_database_url), min_size=1, max_size=pool_size
    )
    app = procrastinate.App(connector=connector)
    register_tasks(app, handlers or Handlers())
    return app


async def defer_run(app: procrastinate.App, job_id: uuid.UUID) -> None:
    """Defer ``jobs.run`` once: the queueing lock refuses a second copy while one waits."""
    try:
        await app.configure_task(RUN_TASK, queueing_lock=f"job:{job_id}").defer_async(
            job_id=str(job_id)
        )
    except AlreadyEnqueued:
        pass


class ProcrastinateRunner:
    def __init__(self, app: procrastinate.App) -> None:
        self.app = app

    async def enqueue(self, job_id: uuid.UUID) -> None:
        try:
            await defer_run(self.app, job_id)
        except Exception as exc:  # the committed row is picked up by jobs.recover later
            log.warning("job_defer_failed", job_id=str(job_id), error=type(exc).__name__)


@asynccontextmanager
async def open_enqueuer(settings: Settings) -> AsyncIterator[ProcrastinateRunner]:
    app = build_app(settings, pool_size=2)
    async with app.open_async():
        yield ProcrastinateRunner(app)


def schema_applied(settings: Settings) -> bool:
    with psycopg.connect(libpq_url(settings.resolved_database_url)) as conn:
        row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
    return bool(row and row[0])


def apply_schema(settings: Settings) -> bool:
    """Create procrastinate's schema unless present; True when it was created now.

    procrastinate's schema.sql is not idempotent, hence the check. Upgrading procrastinate
    itself needs its migration scripts (docs/architecture.md, "Jobs")."""
    if schema_applied(settings):
        return False
    app = build_app(settings)
    with app.open():
        app.schema_manager.apply_schema()
    return True


async def run_worker(
    settings: Settings,
    handlers: Handlers,
    *,
    concurrency: int,
    name: str | None,
) -> None:
    """Run one worker until SIGINT/SIGTERM (jobs still running are handed back on the way).

    What runs in a worker: the runtime (database, vendor HTTP client), the cross-process
    vendor limiter, and procrastinate's worker loop over the engine's tasks plus the domains'
    ``handlers``."""
    from ticketbridge.jobs.limiter import install_distributed_limiter

    async with open_runtime(settings) as runtime, install_distributed_limiter(runtime):
        app = build_app(settings, handlers=handlers, pool_size=max(4, concurrency + 2))
        async with app.open_async():
            await app.run_worker_async(
                concurrency=concurrency,
                name=name or f"{socket.gethostname()}-{os.getpid()}",
                additional_context={"runtime": runtime},
                update_heartbeat_interval=HEARTBEAT_SECS,
                stalled_worker_timeout=STALLED_SECS,
                # A deferred task wakes a waiting worker at once: procrastinate's trigger
                # NOTIFYs on insert and the worker LISTENs. The poll only covers a lost
                # notification (the listening connection being re-established).
                listen_notify=True,
                fetch_job_polling_interval=1.0,
                shutdown_graceful_timeout=5.0,
                delete_jobs="successful",
            )


def runtime_of(context: procrastinate.JobContext) -> Runtime:
    runtime = context.additional_context["runtime"]
    assert isinstance(runtime, Runtime)
    return runtime


def main_worker(
    settings: Settings, handlers: Handlers, *, concurrency: int, name: str | None
) -> int:
    if settings.is_sqlite:
        log.error("worker_needs_postgresql", hint="set TICKETBRIDGE_DATABASE_URL=postgresql://...")
        return 2
    if settings.mode != "distributed":
        log.warning(
            "worker_in_embedded_mode",
            hint="API processes also run jobs; that is safe "
            "(leases) but TICKETBRIDGE_MODE=distributed is what workers are for",
        )
    from ticketbridge import metrics

    metrics.install()  # vendor calls counted; served by an API process in multiprocess mode
    asyncio.run(run_worker(settings, handlers, concurrency=concurrency, name=name))
    return 0
