"""``POST /v1/itsm/tickets`` and ``PATCH /v1/itsm/tickets/{ticket_id}`` (docs/api-writes.md)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ticketbridge.api.deps import (
    ConnectionDep,
    IdempotentWrite,
    IdempotentWriteDep,
    RuntimeDep,
    SessionDep,
)
from ticketbridge.idempotency.service import replay_response
from ticketbridge.tickets import service
from ticketbridge.tickets.schemas import TicketCreate, TicketRead, TicketUpdate

router = APIRouter(prefix="/v1/itsm/tickets", tags=["tickets"])

CREATE_ROUTE = "POST /v1/itsm/tickets"

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown ticket, or a UUID that is not in this connection"},
    409: {"description": "Duplicate identifier, unreachable status, or key in progress"},
    422: {"description": "Invalid body (loc names the field), or Jira's validation messages"},
    429: {"description": "Jira kept rate limiting past the retry budget"},
    502: {"description": "Jira refused the connection's credentials"},
    503: {"description": "Jira unavailable after retries"},
    504: {"description": "Jira did not answer in time"},
}


@router.post("", response_model=TicketRead, responses=_ERRORS)
async def create_ticket(body: TicketCreate, write: IdempotentWriteDep) -> Any:
    return await create(body, write)


async def create(body: TicketCreate, write: IdempotentWrite) -> TicketRead | JSONResponse:
    """The route's work (api/fast_create.py calls it too): the ticket, or a replay."""
    # Without an Idempotency-Key nothing is recorded: the body is not dumped for a hash, nor
    # the answer for a replay.
    keyed = write.key is not None
    request = body.model_dump(mode="json", exclude_unset=True) if keyed else None
    async with write.claim(CREATE_ROUTE, request) as slot:
        if slot.replay is not None:
            return replay_response(slot.replay)
        ticket = await service.create_ticket(write.session, write.runtime, write.conn, body)
        await slot.complete(200, ticket.model_dump(mode="json") if keyed else None)
        return ticket


@router.patch("/{ticket_id}", response_model=TicketRead, responses=_ERRORS)
async def update_ticket(
    ticket_id: uuid.UUID,
    body: TicketUpdate,
    session: SessionDep,
    runtime: RuntimeDep,
    conn: ConnectionDep,
) -> TicketRead:
    return await service.update_ticket(session, runtime, conn, ticket_id, body)
