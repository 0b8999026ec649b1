"""Jobs as the API sees them: created by the bulk routes, read by ``/v1/jobs``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.errors import NotFound
from ticketbridge.jobs.repository import JobRepository
from ticketbridge.jobs.schemas import JobProgress, JobRead, JobStatus
from ticketbridge.store.models import Job


async def create_job(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    connection_id: uuid.UUID,
    job_type: str,
    payload: dict[str, Any],
    total: int,
) -> Job:
    """A QUEUED row; the caller's unit of work commits it, then a runner is told."""
    return await JobRepository(session).add(
        Job(
            account_id=account_id,
            connection_id=connection_id,
            type=job_type,
            status=JobStatus.QUEUED.value,
            payload=payload,
            progress_total=total,
        )
    )


async def get_job(
    session: AsyncSession,
    account_id: uuid.UUID,
    job_id: uuid.UUID,
    connection_id: uuid.UUID | None = None,
) -> Job:
    job = await JobRepository(session).get_visible(account_id, job_id, connection_id)
    if job is None:
        raise NotFound("job not found")
    return job


def to_read(job: Job) -> JobRead:
    return JobRead(
        id=job.id,
        type=job.type,
        connection_id=job.connection_id,
        status=JobStatus(job.status),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=JobProgress(total=job.progress_total, done=job.progress_done),
        results=list(job.results or []),
        failure_reason=job.failure_reason,
    )
