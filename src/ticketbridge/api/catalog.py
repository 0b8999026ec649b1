"""Synced catalog reads: projects, issue types and users of the connection."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
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
from ticketbridge.errors import NotFound
from ticketbridge.store.models import Project, User
from ticketbridge.sync.catalog_repository import CatalogRepository, UserFilters
from ticketbridge.sync.schemas import (
    IssueTypeRead,
    ProjectRead,
    UserRead,
    UserVendorAttributes,
    UserVendorData,
)

router = APIRouter(prefix="/v1/itsm", tags=["catalog"], dependencies=[Depends(known_query_only)])


class UserStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    DELETED = "DELETED"


def project_read(p: Project) -> ProjectRead:
    return ProjectRead(
        id=p.id,
        vendor_id=p.key,
        key=p.key,
        name=p.name,
        description=p.description,
        project_type=p.project_type,
        active=p.active,
        vendor_attributes={**p.vendor_attributes, "id": p.vendor_id, "vendor": "JIRA"},
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def user_read(u: User) -> UserRead:
    return UserRead(
        id=u.id,
        vendor_id=u.vendor_id,
        name=u.name,
        email=u.email,
        status=u.status,
        vendor_attributes=UserVendorAttributes(
            id=u.vendor_id,
            created_at=u.created_at,
            updated_at=u.updated_at,
            data=UserVendorData(accountType=u.account_type),
        ),
        created_at=u.created_at,
        updated_at=u.updated_at,
    )


@router.get("/projects", response_model=Page[ProjectRead] | CursorPage[ProjectRead])
async def list_projects(
    session: SessionDep, conn: ConnectionDep, params: ListDep
) -> Page[ProjectRead] | CursorPage[ProjectRead]:
    repo = CatalogRepository(session)
    if params.cursor_mode:
        page = await repo.keyset_projects(conn.id, limit=params.limit, seek=params.seek)
        return cursor_page(page, [project_read(p) for p in page.items], params.limit)
    rows, total = await repo.list_projects(conn.id, limit=params.limit, offset=params.offset)
    return Page[ProjectRead](
        items=[project_read(p) for p in rows], total=total, limit=params.limit, offset=params.offset
    )


@router.get("/projects/{project_id}", response_model=ProjectRead)
async def get_project(
    project_id: uuid.UUID, session: SessionDep, conn: ConnectionDep
) -> ProjectRead:
    project = await CatalogRepository(session).get_project(conn.id, project_id)
    if project is None:
        raise NotFound("project not found")
    return project_read(project)


@router.get("/issue-types", response_model=Page[IssueTypeRead] | CursorPage[IssueTypeRead])
async def list_issue_types(
    session: SessionDep,
    conn: ConnectionDep,
    params: ListDep,
    project_id: ProjectFilterDep,
) -> Page[IssueTypeRead] | CursorPage[IssueTypeRead]:
    repo = CatalogRepository(session)
    if params.cursor_mode:
        page = await repo.keyset_issue_types(
            conn.id, project_id, limit=params.limit, seek=params.seek
        )
        items = [IssueTypeRead.model_validate(t) for t in page.items]
        return cursor_page(page, items, params.limit)
    rows, total = await repo.list_issue_types(
        conn.id, project_id, limit=params.limit, offset=params.offset
    )
    return Page[IssueTypeRead](
        items=[IssueTypeRead.model_validate(t) for t in rows],
        total=total,
        limit=params.limit,
        offset=params.offset,
    )


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
    repo = CatalogRepository(session)
    if params.cursor_mode:
        page = await repo.keyset_users(conn.id, filters, limit=params.limit, seek=params.seek)
        return cursor_page(page, [user_read(u) for u in page.items], params.limit)
    rows, total = await repo.list_users(conn.id, filters, limit=params.limit, offset=params.offset)
    return Page[UserRead](
        items=[user_read(u) for u in rows], total=total, limit=params.limit, offset=params.offset
    )


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: uuid.UUID, session: SessionDep, conn: ConnectionDep) -> UserRead:
    user = await CatalogRepository(session).get_user(conn.id, user_id)
    if user is None:
        raise NotFound("user not found")
    return user_read(user)
