"""Synced catalog reads: projects, issue types and users of the connection."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ticketbridge.api.cursor import (
    CursorPage,
    ListDep,
    ProjectFilterDep,
    check_updated_since,
    cursor_page,
    known_query_only,
)
from ticketbridge.api.deps import ConnectionDep, SessionDep
from ticketbridge.api.pagination import Page
from ticketbridge.catalog import service
from ticketbridge.catalog.repository import UserFilters
from ticketbridge.catalog.schemas import IssueTypeRead, ProjectRead, UserRead, UserStatus

router = APIRouter(prefix="/v1/itsm", tags=["catalog"], dependencies=[Depends(known_query_only)])


@router.get("/projects", response_model=Page[ProjectRead] | CursorPage[ProjectRead])
async def list_projects(
    session: SessionDep, conn: ConnectionDep, params: ListDep
) -> Page[ProjectRead] | CursorPage[ProjectRead]:
    if params.cursor_mode:
        page = await service.keyset_projects(session, conn.id, limit=params.limit, seek=params.seek)
        return cursor_page(page, page.items, params.limit)
    items, total = await service.list_projects(
        session, conn.id, limit=params.limit, offset=params.offset
    )
    return Page[ProjectRead](items=items, total=total, limit=params.limit, offset=params.offset)


@router.get("/projects/{project_id}", response_model=ProjectRead)
async def get_project(
    project_id: uuid.UUID, session: SessionDep, conn: ConnectionDep
) -> ProjectRead:
    return await service.get_project(session, conn.id, project_id)


@router.get("/issue-types", response_model=Page[IssueTypeRead] | CursorPage[IssueTypeRead])
async def list_issue_types(
    session: SessionDep,
    conn: ConnectionDep,
    params: ListDep,
    project_id: ProjectFilterDep,
) -> Page[IssueTypeRead] | CursorPage[IssueTypeRead]:
    if params.cursor_mode:
        page = await service.keyset_issue_types(
            session, conn.id, project_id, limit=params.limit, seek=params.seek
        )
        return cursor_page(page, page.items, params.limit)
    items, total = await service.list_issue_types(
        session, conn.id, project_id, limit=params.limit, offset=params.offset
    )
    return Page[IssueTypeRead](items=items, total=total, limit=params.limit, offset=params.offset)


@router.get("/users", response_model=Page[UserRead] | CursorPage[UserRead])
async def list_users(
    session: SessionDep,
    conn: ConnectionDep,
    params: ListDep,
    project_id: ProjectFilterDep,
    name: Annotated[str | None, Query(description="Substring, case-insensitive")] = None,
    email: Annotated[str | None, Query(description="Exact address, case-insensitive")] = None,
    status: UserStatus | None = None,
    updated_since: Annotated[datetime | None, Query(alias="updatedSince")] = None,
) -> Page[UserRead] | CursorPage[UserRead]:
    check_updated_since(params, updated_since)
    filters = UserFilters(
        name=name,
        email=email,
        status=status.value if status else None,
        project_id=project_id,
        updated_since=updated_since,
    )
    if params.cursor_mode:
        page = await service.keyset_users(
            session, conn.id, filters, limit=params.limit, seek=params.seek
        )
        return cursor_page(page, page.items, params.limit)
    items, total = await service.list_users(
        session, conn.id, filters, limit=params.limit, offset=params.offset
    )
    return Page[UserRead](items=items, total=total, limit=params.limit, offset=params.offset)


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: uuid.UUID, session: SessionDep, conn: ConnectionDep) -> UserRead:
    return await service.get_user(session, conn.id, user_id)
