"""Job wire shapes: ``GET /v1/jobs/{job_id}`` and the 202 answer of the async bulk routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from ticketbridge.store.models import Job


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"


FINISHED = frozenset({JobStatus.SUCCESS, JobStatus.FAILED})


class JobProgress(BaseModel):
    total: int
    done: int


class JobRead(BaseModel):
    id: uuid.UUID
    type: str
    # The connection the job writes to (the X-CONNECTION-ID of the request that made it).
    connection_id: uuid.UUID
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: JobProgress
    # Per-item results, in request order, whatever the status (empty until items finish).
    results: list[dict[str, Any]]
    # Set when the job FAILED: {total, succeeded, failed, results} (compatible API).
    failure_reason: dict[str, Any] | None

    @classmethod
    def from_model(cls, job: Job) -> JobRead:
        return cls(
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


class JobAccepted(BaseModel):
    job_id: uuid.UUID
