"""``POST /v1/itsm/sync`` starts a background sync of the connection; ``GET`` reports it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ticketbridge.api.deps import ConnectionDep, SessionDep
from ticketbridge.errors import TicketbridgeError
from ticketbridge.store.base import utcnow
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.sync.scheduler import SyncScheduler, scheduler_hook
from ticketbridge.sync.schemas import SyncAccepted, SyncStateRead
from ticketbridge.sync.service import SyncAlreadyRunning

__all__ = ["router", "scheduler_hook"]

router = APIRouter(prefix="/v1/itsm/sync", tags=["sync"])


def _scheduler(request: Request) -> SyncScheduler:
    scheduler: SyncScheduler | None = getattr(request.app.state, "sync_scheduler", None)
    if scheduler is None:
        # create_app always installs it; only a hand-built app could lack it.
        raise TicketbridgeError("the sync scheduler is not running in this process")
    return scheduler


@router.post(
    "",
    response_model=SyncAccepted,
    status_code=202,
    responses={409: {"description": "A sync of this connection is already running"}},
)
async def start_sync(
    request: Request,
    session: SessionDep,
    conn: ConnectionDep,
    full: Annotated[bool, Query(description="Re-read every issue, not only changes")] = False,
) -> SyncAccepted:
    scheduler = _scheduler(request)
    state = await SyncRepository(session).state(conn.id)
    expires = state.lease_expires_at if state is not None else None
    if scheduler.running(conn.id) or (expires is not None and expires > utcnow()):
        raise SyncAlreadyRunning("a sync of this connection is already running")
    scheduler.start(conn.id, full=full)
    return SyncAccepted(connection_id=conn.id, full=full)


@router.get("", response_model=SyncStateRead)
async def get_sync(request: Request, session: SessionDep, conn: ConnectionDep) -> SyncStateRead:
    scheduler: SyncScheduler | None = getattr(request.app.state, "sync_scheduler", None)
    state = await SyncRepository(session).state(conn.id)
    running_here = scheduler is not None and scheduler.running(conn.id)
    return SyncStateRead.from_model(conn.id, state, running_here=running_here)
