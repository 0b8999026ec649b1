"""The embedded runner: jobs run inside the API process (SQLite or PostgreSQL).

A loop claims QUEUED jobs, and RUNNING jobs whose lease expired, up to ``concurrency`` at a
time. ``enqueue`` (called once the job's row is committed) hands the job id to the loop and
wakes it: the job is claimed at once, by id, without a scan of the table. A periodic poll
covers everything else (a job whose lease expires, a wake-up lost to a restart, a job another
process committed). At start-up, jobs leased by a process of this host that no longer exists
are made claimable at once, so a restart after ``kill -9`` resumes them without waiting for
their leases to run out.

``concurrency`` bounds the jobs in progress, not the vendor calls: each job's chunks take
turns at its connection's vendor cap (``connectors.turns``), so it can be well above the cap.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ticketbridge.jobs.registry import Handlers
from ticketbridge.jobs.repository import JobRepository
from ticketbridge.jobs.runner import DEFAULT_LEASE_SECS, execute_job, owner_is_dead, process_owner
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow

log = get_logger(__name__)


@dataclass
class RunnerCounts:
    """How the runner found its jobs (observable by tests and operators)."""

    notified: int = 0  # job ids handed over by ``enqueue``
    started_by_notice: int = 0  # jobs started from such a hand-over
    started_by_scan: int = 0  # jobs started from a scan of the table (poll, resume)
    scans: int = 0


class EmbeddedRunner:
    def __init__(
        self,
        runtime: Runtime,
        handlers: Handlers,
        *,
        concurrency: int | None = None,
        poll_interval: float = 1.0,
        lease_secs: float = DEFAULT_LEASE_SECS,
    ) -> None:
        self.runtime = runtime
        self.handlers = handlers
        self.concurrency = concurrency or runtime.settings.job_concurrency
        self.poll_interval = poll_interval
        self.lease_secs = lease_secs
        self.owner = process_owner("embedded")
        self.counts = RunnerCounts()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._running: dict[uuid.UUID, asyncio.Task[bool]] = {}
        self._notified: deque[uuid.UUID] = deque()
        self._backlog = False  # the last scan found more claimable jobs than it started

    async def enqueue(self, job_id: uuid.UUID) -> None:
        """The job's row is committed: start it as soon as a slot is free."""
        self.counts.notified += 1
        self._notified.append(job_id)
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

    def _start(self, job_id: uuid.UUID) -> bool:
        if self._stopping.is_set() or job_id in self._running:
            return False
        self._running[job_id] = asyncio.create_task(self._execute(job_id))
        return True

    def _start_notified(self) -> None:
        while self._notified and len(self._running) < self.concurrency:
            if self._start(self._notified.popleft()):
                self.counts.started_by_notice += 1

    async def fill(self, *, scan: bool = True) -> None:
        """Start the jobs handed over by ``enqueue``, then (``scan``) as many claimable
        jobs from the table as there are free slots."""
        self._start_notified()
        free = self.concurrency - len(self._running)
        if not scan or free <= 0 or self._stopping.is_set():
            return
        self.counts.scans += 1
        limit = free + len(self._running)
        async with self.runtime.session() as s:
            ids = await JobRepository(s).claimable(utcnow(), limit=limit)
        for job_id in ids:
            if len(self._running) >= self.concurrency:
                break
            if self._start(job_id):
                self.counts.started_by_scan += 1
        self._backlog = len(ids) >= limit or any(j not in self._running for j in ids)

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
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while not self._stopping.is_set():
            self._wake.clear()
            # A hand-over needs no scan. The table is scanned every poll interval, and when a
            # slot frees while the last scan left claimable jobs behind.
            scan = loop.time() >= next_scan or (
                self._backlog and not self._notified and len(self._running) < self.concurrency
            )
            try:
                await self.fill(scan=scan)
            except Exception as exc:  # e.g. the database is briefly unavailable: poll again
                log.warning("job_poll_failed", error=type(exc).__name__)
            if scan:
                next_scan = loop.time() + self.poll_interval
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_scan - loop.time()))
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
