"""The embedded runner: jobs run inside the API process (SQLite or PostgreSQL).

A loop claims QUEUED jobs, and RUNNING jobs whose lease expired, up to ``concurrency`` at a
time. ``enqueue`` only wakes the loop (the row is already committed); a periodic poll covers
everything else (a job whose lease expires, a wake-up lost to a restart). At start-up, jobs
leased by a process of this host that no longer exists are made claimable at once, so a
restart after ``kill -9`` resumes them without waiting for their leases to run out.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ticketbridge.jobs.registry import Handlers
from ticketbridge.jobs.repository import JobRepository
from ticketbridge.jobs.runner import DEFAULT_LEASE_SECS, execute_job, owner_is_dead, process_owner
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow

log = get_logger(__name__)


class EmbeddedRunner:
    def __init__(
        self,
        runtime: Runtime,
        handlers: Handlers,
        *,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        lease_secs: float = DEFAULT_LEASE_SECS,
    ) -> None:
        self.runtime = runtime
        self.handlers = handlers
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease_secs = lease_secs
        self.owner = process_owner("embedded")
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._running: dict[uuid.UUID, asyncio.Task[bool]] = {}

    async def enqueue(self, job_id: uuid.UUID) -> None:
        self._wake.set()

    async def resume_orphans(self) -> int:
        """Expire the leases held by dead processes of this host; returns how many."""
        now = utcnow()
        count = 0
        async with self.runtime.session() as s:
            repo = JobRepository(s)
            for job_id, owner in await repo.leases():
                if owner_is_dead(owner) and await repo.expire_lease(job_id, owner, now):
                    log.info("job_orphan_resumed", job_id=str(job_id), dead_owner=owner)
                    count += 1
        return count

    async def fill(self) -> None:
        """Start as many claimable jobs as there are free slots."""
        free = self.concurrency - len(self._running)
        if free <= 0:
            return
        async with self.runtime.session() as s:
            ids = await JobRepository(s).claimable(utcnow(), limit=free + len(self._running))
        for job_id in ids:
            if self._stopping.is_set():
                return
            if job_id in self._running or len(self._running) >= self.concurrency:
                continue
            task = asyncio.create_task(self._execute(job_id))
            self._running[job_id] = task

    async def _execute(self, job_id: uuid.UUID) -> bool:
        try:
            return await execute_job(
                self.runtime,
                job_id,
                owner=self.owner,
                handlers=self.handlers,
                lease_secs=self.lease_secs,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the job row keeps its lease; it is retried on expiry
            log.error(
                "job_execution_error", job_id=str(job_id), error=type(exc).__name__, exc_info=exc
            )
            return False
        finally:
            self._running.pop(job_id, None)
            self._wake.set()

    async def run_forever(self) -> None:
        try:
            await self.resume_orphans()
        except Exception as exc:
            log.error("job_resume_failed", error=type(exc).__name__, exc_info=exc)
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.fill()
            except Exception as exc:  # e.g. the database is briefly unavailable: poll again
                log.warning("job_poll_failed", error=type(exc).__name__)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            except TimeoutError:
                pass

    async def idle(self) -> None:
        """Wait until no job is running (tests and graceful shutdown)."""
        while self._running:
            await asyncio.wait(list(self._running.values()))

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[EmbeddedRunner]:
        loop = asyncio.create_task(self.run_forever())
        try:
            yield self
        finally:
            # Let the poll loop finish its current query and exit: cancelling it mid-query
            # would leave aiosqlite's worker thread answering a loop that is gone.
            self._stopping.set()
            self._wake.set()
            # One budget for the whole stop (TICKETBRIDGE_SHUTDOWN_GRACE_SECS).
            grace = self.runtime.settings.shutdown_grace_secs
            deadline = asyncio.get_running_loop().time() + grace
            _, stuck = await asyncio.wait([loop], timeout=grace)
            tasks: list[asyncio.Task[Any]] = [*stuck, *self._running.values()]
            for task in tasks:
                task.cancel()
            # Cancelled jobs hand their leases back (execute_job), so a restart resumes them.
            # Bounded: shutdown must not hang on a job stuck in I/O; its lease then expires
            # and the next runner resumes it.
            pending: set[asyncio.Task[Any]] = set()
            if tasks:
                left = max(0.0, deadline - asyncio.get_running_loop().time())
                _, pending = await asyncio.wait(tasks, timeout=left)
            if pending:
                log.warning("job_runner_shutdown_timeout", pending=len(pending))
