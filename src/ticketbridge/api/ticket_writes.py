"""``POST /v1/itsm/tickets`` and ``PATCH /v1/itsm/tickets/{ticket_id}`` (docs/api-writes.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from ticketbridge.api.deps import AccountDep, ConnectionDep, RuntimeDep, SessionDep
from ticketbridge.idempotency.service import HEADER, hash_request, idempotent
from ticketbridge.tickets import service
from ticketbridge.tickets.schemas import TicketCreate, TicketRead, TicketUpdate

router = APIRouter(prefix="/v1/itsm/tickets", tags=["tickets"])

CREATE_ROUTE = "POST /v1/itsm/tickets"
REPLAYED_HEADER = "Idempotent-Replayed"

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown ticket, or a UUID that is not in this connection"},
    409: {"description": "Duplicate identifier, unreachable status, or key in progress"},
    422: {"description": "Invalid body (loc names the field), or Jira's validation messages"},
    429: {"description": "Jira kept rate limiting past the retry budget"},
    502: {"description": "Jira refused the connection's credentials"},
    503: {"description": "Jira unavailable after retries"},
    504: {"description": "Jira did not answer in time"},
}

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        description="Replays the first response for 24 h when the same body is sent again",
    ),
]


@router.post("", response_model=TicketRead, responses=_ERRORS)
async def create_ticket(
    body: TicketCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    account_id: AccountDep,
    conn: ConnectionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    async with idempotent(
        runtime,
        session,
        account_id=account_id,
        connection_id=conn.id,
        route=CREATE_ROUTE,
        key=idempotency_key,
        request_hash=hash_request(body.model_dump(mode="json", exclude_unset=True)),
    ) as slot:
        if slot.replay is not None:
            return JSONResponse(
                slot.replay.body,
                status_code=slot.replay.status_code,
                headers={REPLAYED_HEADER: "true"},
            )
        ticket = await service.create_ticket(session, runtime, conn, body)
        await slot.complete(200, ticket.model_dump(mode="json"))
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
