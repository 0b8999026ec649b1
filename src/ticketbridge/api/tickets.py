"""Synced ticket reads: ``GET /v1/itsm/tickets[/{id}|/by-identifier/{identifier}]``.

Lists answer offset pages or cursor pages (``api/cursor.py``); see docs/api-reads.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from ticketbridge.api.cursor import (
    CursorPage,
    ListDep,
    ProjectFilterDep,
    check_updated_since,
    cursor_page_json,
    known_query_only,
)
from ticketbridge.api.deps import ConnectionDep, ReadSessionDep
from ticketbridge.api.pagination import Page
from ticketbridge.api.rendering import json_response
from ticketbridge.errors import NotFound
from ticketbridge.tickets.read_json import ticket_json, tickets_json
from ticketbridge.tickets.repository import TicketFilters, TicketRepository
from ticketbridge.tickets.schemas import TicketPriority, TicketRead, TicketStatus

router = APIRouter(
    prefix="/v1/itsm/tickets", tags=["tickets"], dependencies=[Depends(known_query_only)]
)

_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such ticket in this connection"}}


@router.get("", response_model=Page[TicketRead] | CursorPage[TicketRead])
async def list_tickets(
    session: ReadSessionDep,
    conn: ConnectionDep,
    params: ListDep,
    project_id: ProjectFilterDep,
    status: TicketStatus | None = None,
    priority: TicketPriority | None = None,
    assigned_user_id: uuid.UUID | None = None,
    type: Annotated[str | None, Query(description="Issue type name (case-insensitive)")] = None,
    updated_since: Annotated[
        datetime | None,
        Query(alias="updatedSince", description="Tickets changed in the store since (offset mode)"),
    ] = None,
    name: Annotated[
        str | None, Query(description="Substring of the name, case-insensitive", max_length=255)
    ] = None,
    active: Annotated[
        bool | None, Query(description="false: only tickets deleted in the vendor")
    ] = None,
) -> Response:
    check_updated_since(params, updated_since)
    filters = TicketFilters(
        status=status.value if status else None,
        priority=priority.value if priority else None,
        project_id=project_id,
        assigned_user_id=assigned_user_id,
        type=type,
        updated_since=updated_since,
        name=name,
        active=active,
    )
    repo = TicketRepository(session)
    if params.cursor_mode:
        page = await repo.list_keyset(conn.id, filters, limit=params.limit, seek=params.seek)
        return cursor_page_json(page, params.limit)
    rows, total = await repo.list_offset(conn.id, filters, limit=params.limit, offset=params.offset)
    return json_response(tickets_json(rows, total=total, limit=params.limit, offset=params.offset))


# ``:path`` because an identifier is the caller's own key and may contain ``/`` (sent as ``%2F``,
# which the server decodes before routing).
@router.get("/by-identifier/{identifier:path}", response_model=TicketRead, responses=_404)
async def get_ticket_by_identifier(
    identifier: str, session: ReadSessionDep, conn: ConnectionDep
) -> Response:
    row = await TicketRepository(session).read_row_by_identifier(conn.id, identifier)
    if row is None:
        raise NotFound("ticket not found")
    return json_response(ticket_json(row))


@router.get("/{ticket_id}", response_model=TicketRead, responses=_404)
async def get_ticket(
    ticket_id: uuid.UUID, session: ReadSessionDep, conn: ConnectionDep
) -> Response:
    row = await TicketRepository(session).read_row(conn.id, ticket_id)
    if row is None:
        raise NotFound("ticket not found")
    return json_response(ticket_json(row))
