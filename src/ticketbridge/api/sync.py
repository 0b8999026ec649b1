"""``POST /v1/itsm/sync`` starts a background sync of the connection; ``GET`` reports it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ticketbridge.api.deps import ConnectionDep, SchedulerDep, SessionDep
from ticketbridge.store.base import utcnow
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.sync.schemas import SyncAccepted, SyncStateRead
from ticketbridge.sync.service import SyncAlreadyRunning

router = APIRouter(prefix="/v1/itsm/sync", tags=["sync"])


@router.post(
    "",
    response_model=SyncAccepted,
    status_code=202,
    responses={409: {"description": "A sync of this connection is already running"}},
)
async def start_sync(
    scheduler: SchedulerDep,
    session: SessionDep,
    conn: ConnectionDep,
    full: Annotated[bool, Query(description="Re-read every issue, not only changes")] = False,
) -> SyncAccepted:
    state = await SyncRepository(session).state(conn.id)
    expires = state.lease_expires_at if state is not None else None
    if scheduler.running(conn.id) or (expires is not None and expires > utcnow()):
        raise SyncAlreadyRunning("a sync of this connection is already running")
    scheduler.start(conn.id, full=full)
    return SyncAccepted(connection_id=conn.id, full=full)


@router.get("", response_model=SyncStateRead)
async def get_sync(
    scheduler: SchedulerDep, session: SessionDep, conn: ConnectionDep
) -> SyncStateRead:
    state = await SyncRepository(session).state(conn.id)
    return SyncStateRead.from_model(conn.id, state, running_here=scheduler.running(conn.id))
