"""Bulk ticket routes: ``/v1/itsm/tickets/bulk/sync``, ``/bulk`` and ``/bulk/update``.

The async routes answer 202 ``{job_id}`` once the job row is committed; the runner is told
after the commit (a background task), so it never looks for a row it cannot see yet.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks

from ticketbridge.api.deps import IdempotentWriteDep, JobRunnerDep
from ticketbridge.bulk import service
from ticketbridge.bulk.schemas import BulkCreateRequest, BulkCreateResponse, BulkUpdateRequest
from ticketbridge.idempotency.service import replay_response
from ticketbridge.jobs.schemas import JobAccepted

router = APIRouter(prefix="/v1/itsm/tickets", tags=["bulk"])

SYNC_ROUTE = "POST /v1/itsm/tickets/bulk/sync"
ASYNC_ROUTE = "POST /v1/itsm/tickets/bulk"
UPDATE_ROUTE = "POST /v1/itsm/tickets/bulk/update"

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown connection, or (update) an assignee not in this connection"},
    409: {"description": "A request with this Idempotency-Key is still in progress"},
    422: {"description": "Invalid body, or more tickets than TICKETBRIDGE_BULK_MAX_TICKETS"},
}


@router.post("/bulk/sync", response_model=BulkCreateResponse, responses=_ERRORS)
async def bulk_create_sync(body: BulkCreateRequest, write: IdempotentWriteDep) -> Any:
    async with write.claim(SYNC_ROUTE, lambda: body.model_dump(mode="json")) as slot:
        if slot.replay is not None:
            return replay_response(slot.replay)
        response = await service.create_sync(write.session, write.runtime, write.conn, body.tickets)
        # Without an Idempotency-Key nothing is recorded (nor dumped) for a replay.
        await slot.complete(
            200, response.model_dump(mode="json") if write.key is not None else None
        )
        return response


@router.post("/bulk", status_code=202, response_model=JobAccepted, responses=_ERRORS)
async def bulk_create(
    body: BulkCreateRequest,
    write: IdempotentWriteDep,
    runner: JobRunnerDep,
    background: BackgroundTasks,
) -> Any:
    async with write.claim(ASYNC_ROUTE, lambda: body.model_dump(mode="json")) as slot:
        if slot.replay is not None:
            return replay_response(slot.replay)
        job = await service.enqueue_create(write.session, write.runtime, write.conn, body.tickets)
        accepted = JobAccepted(job_id=job.id)
        await slot.complete(
            202, accepted.model_dump(mode="json") if write.key is not None else None
        )
    background.add_task(runner.enqueue, job.id)
    return accepted


@router.post("/bulk/update", status_code=202, response_model=JobAccepted, responses=_ERRORS)
async def bulk_update(
    body: BulkUpdateRequest,
    write: IdempotentWriteDep,
    runner: JobRunnerDep,
    background: BackgroundTasks,
) -> Any:
    async with write.claim(
        UPDATE_ROUTE, lambda: body.model_dump(mode="json", exclude_unset=True)
    ) as slot:
        if slot.replay is not None:
            return replay_response(slot.replay)
        job = await service.enqueue_update(write.session, write.runtime, write.conn, body)
        accepted = JobAccepted(job_id=job.id)
        await slot.complete(
            202, accepted.model_dump(mode="json") if write.key is not None else None
        )
    background.add_task(runner.enqueue, job.id)
    return accepted
