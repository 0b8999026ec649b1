"""First run: ``GET/POST /v1/setup`` (the first API key) and ``POST /v1/demo``.

See provisioning/firstrun.py for the token's rules and docs/console.md for the flow.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field

from ticketbridge.api.deps import (
    AccountDep,
    RuntimeDep,
    SchedulerDep,
    SessionDep,
    SetupTokenDep,
)
from ticketbridge.errors import Conflict, Forbidden
from ticketbridge.provisioning import firstrun
from ticketbridge.provisioning.schemas import ConnectionRead
from ticketbridge.sync.scheduler import SyncScheduler

router = APIRouter(prefix="/v1", tags=["setup"])


class SetupStatus(BaseModel):
    setup_pending: bool = Field(description="A setup link printed by `serve` is still usable")
    demo_available: bool = Field(description="POST /v1/demo can create a demo connection")


class SetupRequest(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    key_name: str = Field(default="console", min_length=1, max_length=100)


class SetupDone(BaseModel):
    account: str
    api_key: str = Field(description="Shown once; only its hash is stored")


@router.get("/setup", response_model=SetupStatus)
async def setup_status(token: SetupTokenDep, runtime: RuntimeDep) -> SetupStatus:
    return SetupStatus(
        setup_pending=token is not None and token.pending,
        demo_available=_demo_available(runtime.settings.demo_enabled, runtime.settings.mode),
    )


_SETUP_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a loopback client, or a wrong token (the link stays usable)"},
    404: {"description": "No setup pending: never printed, already used or expired"},
    409: {"description": "An account already exists"},
}
_DEMO_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The account has a demo connection, or the demo is off (distributed)"},
}


@router.post("/setup", response_model=SetupDone, status_code=201, responses=_SETUP_ERRORS)
async def setup(
    body: SetupRequest,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    token: SetupTokenDep,
) -> SetupDone:
    client = request.client.host if request.client else None
    if not runtime.settings.setup_allow_remote and not firstrun.is_loopback(client):
        raise Forbidden("setup is only allowed from this machine (TICKETBRIDGE_SETUP_ALLOW_REMOTE)")
    plain = await firstrun.redeem(session, token, body.token, key_name=body.key_name)
    return SetupDone(account=firstrun.FIRST_ACCOUNT, api_key=plain)


@router.post("/demo", response_model=ConnectionRead, status_code=201, responses=_DEMO_ERRORS)
async def create_demo(
    scheduler: SchedulerDep,
    session: SessionDep,
    account_id: AccountDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> ConnectionRead:
    """A connection to the built-in Jira emulator, synced at once (embedded mode only)."""
    settings = runtime.settings
    if not _demo_available(settings.demo_enabled, settings.mode):
        raise Conflict("the built-in demo runs in embedded mode with TICKETBRIDGE_DEMO_ENABLED")
    conn = await firstrun.create_demo_connection(
        session, runtime.box, account_id, refresh_interval=settings.default_refresh_interval_secs
    )
    read = ConnectionRead.from_model(conn)
    # A background task runs after the unit of work committed, so the sync sees the row.
    background.add_task(_start_sync, scheduler, conn.id)
    return read


async def _start_sync(scheduler: SyncScheduler, conn_id: uuid.UUID) -> None:
    if not scheduler.running(conn_id):
        scheduler.start(conn_id, full=True)


def _demo_available(enabled: bool, mode: str) -> bool:
    # The emulator's state lives in one process; workers elsewhere could not reach it.
    return enabled and mode == "embedded"
