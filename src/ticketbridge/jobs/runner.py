"""The runner protocol and the one way a job is executed, whatever runner picked it.

:func:`execute_job` claims the row with a lease (an atomic ``UPDATE ... WHERE status='QUEUED'
OR lease expired``), renews it from a heartbeat task while the handler runs, and records the
outcome under the lease. A runner that dies simply stops renewing: once the lease expires any
runner may claim the job again and the handler resumes from what the rows say was done
(handlers are written to be resumable; see bulk/jobs.py for the exactly-once create).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge import metrics
from ticketbridge.errors import (
    CredentialsUnreadable,
    TicketbridgeError,
    VendorRateLimited,
    VendorTimeout,
    VendorUnavailable,
)
from ticketbridge.jobs.registry import Handlers, JobType
from ticketbridge.jobs.repository import JobChunkRepository, JobRepository
from ticketbridge.jobs.schemas import JobStatus
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Job

log = get_logger(__name__)

DEFAULT_LEASE_SECS = 15.0
MAX_ATTEMPTS = 8
PROCESS_NONCE = secrets.token_hex(4)


class JobRunner(Protocol):
    """Where the API hands a committed job over for execution."""

    async def enqueue(self, job_id: uuid.UUID) -> None: ...


class LeaseLost(Exception):
    """Another runner owns the job now: stop without writing anything."""


class RetryLater(Exception):
    """A transient failure: give the job back and resume it after ``delay`` seconds."""

    def __init__(self, message: str, *, delay: float = 5.0) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass
class JobContext:
    runtime: Runtime
    job: Job
    owner: str
    lease_secs: float
    # Set when the handler finished the job itself (:meth:`finish`).
    finished: str | None = None

    @property
    def last_attempt(self) -> bool:
        return self.job.attempts >= MAX_ATTEMPTS

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.runtime.session() as session:
            yield session

    async def save_progress(
        self, done: int, results: list[dict[str, Any]], session: AsyncSession | None = None
    ) -> None:
        """Record progress, in ``session``'s transaction when given (a chunk commits its
        results and the job's progress at once), else in a transaction of its own."""
        if session is None:
            async with self.session() as s:
                return await self.save_progress(done, results, s)
        if not await JobRepository(session).save_progress(
            self.job.id, self.owner, utcnow(), done=done, results=results
        ):
            raise LeaseLost(str(self.job.id))

    async def mark_chunk_sent(self, index: int) -> float:
        """Commit the intent to call the vendor for chunk ``index`` before making the call;
        returns when it was committed (the event loop's clock), for :meth:`intent_fresh`.

        Fenced with a margin: the lease must last at least half its length more, so the call
        starts well inside it (the heartbeat keeps extending it while the call runs)."""
        until = utcnow() + timedelta(seconds=self.lease_secs / 2)
        async with self.session() as s:
            if not await JobChunkRepository(s).mark_sent(
                self.job.id, index, self.owner, lease_valid_until=until
            ):
                raise LeaseLost(str(self.job.id))
        return asyncio.get_running_loop().time()

    def intent_fresh(self, committed_at: float) -> bool:
        """Whether a call may still start on an intent committed at ``committed_at``.

        Up to a sixth of the lease later: the fence left at least half the lease then, so a
        third is left at the call's start. A chunk commits its intent before it waits for a
        vendor turn, so the turn is not held through a commit that queues behind other
        writers; a turn that came later than this needs the intent committed again."""
        return asyncio.get_running_loop().time() - committed_at <= self.lease_secs / 6

    async def finish(self, session: AsyncSession, results: list[dict[str, Any]]) -> str:
        """Finish the job in ``session``'s transaction: the last chunk's results and the
        job's final status in one commit. Call it only when every other write of this
        attempt is committed (the status must never be ahead of the results)."""
        status = await _finish_in(self, session, results)
        self.finished = status
        return status


def process_owner(role: str) -> str:
    """A lease owner id: host, pid and a per-process nonce (``host:pid:nonce:role``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{PROCESS_NONCE}:{role}"


def owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` is certainly a dead process of this host (start-up uses it to
    resume a killed predecessor's jobs at once instead of waiting for the lease to expire)."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid, nonce = int(parts[1]), parts[2]
    if nonce == PROCESS_NONCE:
        return False
    if pid == os.getpid():
        return True  # our pid with another nonce: a previous incarnation (e.g. PID 1 in a box)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def retry_delay(attempt: int) -> float:
    """Back-off before attempt ``attempt + 1`` of a job that failed transiently."""
    return min(60.0, 2.0**attempt)


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    succeeded = sum(1 for r in results if r.get("success"))
    return {
        "total": len(results),
        "succeeded": succeeded,
        "failed": len(results) - succeeded,
        "results": results,
    }


def _transient(exc: BaseException) -> bool:
    # A wrong secret key is fixed by an operator, not by the job: retry, saying which setting.
    # So is a database too busy to hand out a connection within its pool timeout.
    return isinstance(
        exc,
        VendorUnavailable
        | VendorTimeout
        | VendorRateLimited
        | OperationalError
        | PoolTimeout
        | CredentialsUnreadable,
    )


def _reason(exc: BaseException) -> str:
    """What the job's results say: our own error texts, never a driver's (SQL, paths)."""
    if isinstance(exc, TicketbridgeError):
        return exc.message
    if isinstance(exc, RetryLater):
        return str(exc)
    if isinstance(exc, OperationalError | PoolTimeout):
        return "the database was unavailable"
    return "internal error"


async def _heartbeat(ctx: JobContext, work: asyncio.Task[Any]) -> None:
    interval = ctx.lease_secs / 3
    last_ok = utcnow()
    while not work.done():
        await asyncio.sleep(interval)
        now = utcnow()
        try:
            async with ctx.session() as s:
                ok = await JobRepository(s).heartbeat(ctx.job.id, ctx.owner, now, ctx.lease_secs)
        except Exception as exc:  # a database hiccup: keep trying while the lease lasts
            log.warning("job_heartbeat_failed", job_id=str(ctx.job.id), error=type(exc).__name__)
            ok = (now - last_ok).total_seconds() < ctx.lease_secs * 0.8
        else:
            last_ok = now if ok else last_ok
        if not ok:
            log.warning("job_lease_lost", job_id=str(ctx.job.id), owner=ctx.owner)
            work.cancel()
            return


async def _finish(ctx: JobContext, results: list[dict[str, Any]]) -> str:
    async with ctx.session() as s:
        status = await _finish_in(ctx, s, results)
    _log_finished(ctx, status)
    return status


def _log_finished(ctx: JobContext, status: str) -> None:
    log.info("job_finished", job_id=str(ctx.job.id), type=ctx.job.type, status=status)


async def _finish_in(ctx: JobContext, session: AsyncSession, results: list[dict[str, Any]]) -> str:
    failed = any(not r.get("success") for r in results)
    status = JobStatus.FAILED if failed else JobStatus.SUCCESS
    finished = await JobRepository(session).finish(
        ctx.job.id,
        ctx.owner,
        utcnow(),
        status=status.value,
        results=results,
        failure_reason=summarize(results) if failed else None,
        done=len(results),
    )
    if not finished:
        raise LeaseLost(str(ctx.job.id))
    return status.value


async def _release(ctx: JobContext, delay: float) -> None:
    now = utcnow()
    async with ctx.session() as s:
        await JobRepository(s).release(ctx.job.id, ctx.owner, now, now + timedelta(seconds=delay))


async def execute_job(
    runtime: Runtime,
    job_id: uuid.UUID,
    *,
    owner: str,
    handlers: Handlers,
    lease_secs: float = DEFAULT_LEASE_SECS,
) -> bool:
    """Claim and run one job with its type's handler from ``handlers``; False when it was
    not claimable (finished, or leased by a live runner). Never raises for a job's own
    failure: that is recorded on the row."""
    async with runtime.session() as s:
        job = await JobRepository(s).claim_job(job_id, owner, utcnow(), lease_secs)
    if job is None:
        return False
    ctx = JobContext(runtime, job, owner, lease_secs)
    job_type = handlers.job_types.get(job.type)
    log.info("job_claimed", job_id=str(job_id), type=job.type, attempt=job.attempts, owner=owner)
    if job_type is None:
        await _finish(ctx, [{"success": False, "error": f"unknown job type {job.type!r}"}])
        return True
    work = asyncio.create_task(_run(ctx, job_type))
    beat = asyncio.create_task(_heartbeat(ctx, work))
    try:
        # wait() does not raise when the heartbeat cancels ``work`` (lease lost); it raises
        # CancelledError only when this coroutine itself is cancelled (shutdown).
        await asyncio.wait({work})
    except asyncio.CancelledError:
        # Our own cancellation (shutdown): stop the work and hand the job back at once, so
        # the next runner (or this process after a restart) resumes it without waiting.
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await asyncio.shield(_release(ctx, 0))
        raise
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
    return True


async def _run(ctx: JobContext, job_type: JobType) -> None:
    timer, outcome = metrics.Timer(), "ERROR"
    try:
        outcome = await _attempt(ctx, job_type)
    except LeaseLost:
        outcome = "LEASE_LOST"
        log.warning("job_abandoned_lease_lost", job_id=str(ctx.job.id))
    except asyncio.CancelledError:
        outcome = "CANCELLED"
        log.warning("job_cancelled", job_id=str(ctx.job.id))
        raise
    finally:
        metrics.observe_job(ctx.job.type, outcome, timer.elapsed)


async def _attempt(ctx: JobContext, job_type: JobType) -> str:
    """One attempt; returns its outcome (the job's final status, or RETRY)."""
    job = ctx.job
    try:
        results = await job_type.run(ctx)
        if ctx.finished is not None:  # finished with its last write (JobContext.finish)
            _log_finished(ctx, ctx.finished)
            return ctx.finished
        return await _finish(ctx, results)
    except (LeaseLost, asyncio.CancelledError):
        raise
    except Exception as exc:
        transient = isinstance(exc, RetryLater) or _transient(exc)
        reason = _reason(exc)
        if not transient:
            log.error("job_error", job_id=str(job.id), error=type(exc).__name__, exc_info=exc)
        if ctx.last_attempt:
            results = await job_type.give_up(
                ctx, f"gave up after {job.attempts} attempts: {reason}"
            )
            return await _finish(ctx, results)
        delay = exc.delay if isinstance(exc, RetryLater) else retry_delay(job.attempts)
        log.warning("job_retry_later", job_id=str(job.id), reason=reason, delay=delay)
        await _release(ctx, delay)
        return "RETRY"
