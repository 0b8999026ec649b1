"""Synced assignment groups (``GET /v1/itsm/groups``): offset or cursor pages, like the
other synced reads. A vendor without groups (Jira) answers an empty list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ticketbridge.api.cursor import (
    CursorPage,
    ListDep,
    check_updated_since,
    cursor_page,
    known_query_only,
)
from ticketbridge.api.deps import ConnectionDep, SessionDep
from ticketbridge.api.pagination import Page
from ticketbridge.catalog import groups as service
from ticketbridge.catalog.group_repository import GroupFilters
from ticketbridge.catalog.groups import GroupRead

router = APIRouter(prefix="/v1/itsm", tags=["catalog"], dependencies=[Depends(known_query_only)])


@router.get("/groups", response_model=Page[GroupRead] | CursorPage[GroupRead])
async def list_groups(
    session: SessionDep,
    conn: ConnectionDep,
    params: ListDep,
    name: Annotated[str | None, Query(description="Substring, case-insensitive")] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) groups")] = None,
    updated_since: Annotated[datetime | None, Query(alias="updatedSince")] = None,
) -> Page[GroupRead] | CursorPage[GroupRead]:
    check_updated_since(params, updated_since)
    filters = GroupFilters(name=name, active=active, updated_since=updated_since)
    if params.cursor_mode:
        page = await service.keyset_groups(
            session, conn.id, filters, limit=params.limit, seek=params.seek
        )
        return cursor_page(page, page.items, params.limit)
    items, total = await service.list_groups(
        session, conn.id, filters, limit=params.limit, offset=params.offset
    )
    return Page[GroupRead](items=items, total=total, limit=params.limit, offset=params.offset)


@router.get("/groups/{group_id}", response_model=GroupRead)
async def get_group(group_id: uuid.UUID, session: SessionDep, conn: ConnectionDep) -> GroupRead:
    return await service.get_group(session, conn.id, group_id)
