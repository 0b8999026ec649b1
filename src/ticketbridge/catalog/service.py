"""Catalog reads for the API: rows from the repository, answered as their read schemas.

Offset pages come back as ``(items, total)``, cursor pages as a ``KeysetPage`` of read
schemas; the router wraps either in its wire page. A row of another connection is a 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.catalog.repository import CatalogRepository, UserFilters
from ticketbridge.catalog.schemas import IssueTypeRead, ProjectRead, UserRead
from ticketbridge.errors import NotFound
from ticketbridge.store.keyset import KeysetPage, Seek

M = TypeVar("M")
R = TypeVar("R")


def _mapped(page: KeysetPage[M], to_read: Callable[[M], R]) -> KeysetPage[R]:
    return KeysetPage([to_read(row) for row in page.items], page.next_after, page.previous_before)


# -- projects ----------------------------------------------------------------------------------
async def get_project(
    session: AsyncSession, connection_id: uuid.UUID, project_id: uuid.UUID
) -> ProjectRead:
    project = await CatalogRepository(session).get_project(connection_id, project_id)
    if project is None:
        raise NotFound("project not found")
    return ProjectRead.from_model(project)


async def list_projects(
    session: AsyncSession, connection_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[ProjectRead], int]:
    rows, total = await CatalogRepository(session).list_projects(
        connection_id, limit=limit, offset=offset
    )
    return [ProjectRead.from_model(p) for p in rows], total


async def keyset_projects(
    session: AsyncSession, connection_id: uuid.UUID, *, limit: int, seek: Seek
) -> KeysetPage[ProjectRead]:
    page = await CatalogRepository(session).keyset_projects(connection_id, limit=limit, seek=seek)
    return _mapped(page, ProjectRead.from_model)


# -- issue types -------------------------------------------------------------------------------
async def list_issue_types(
    session: AsyncSession,
    connection_id: uuid.UUID,
    project_id: uuid.UUID | None,
    *,
    limit: int,
    offset: int,
) -> tuple[list[IssueTypeRead], int]:
    rows, total = await CatalogRepository(session).list_issue_types(
        connection_id, project_id, limit=limit, offset=offset
    )
    return [IssueTypeRead.from_model(t) for t in rows], total


async def keyset_issue_types(
    session: AsyncSession,
    connection_id: uuid.UUID,
    project_id: uuid.UUID | None,
    *,
    limit: int,
    seek: Seek,
) -> KeysetPage[IssueTypeRead]:
    page = await CatalogRepository(session).keyset_issue_types(
        connection_id, project_id, limit=limit, seek=seek
    )
    return _mapped(page, IssueTypeRead.from_model)


# -- users -------------------------------------------------------------------------------------
async def get_user(session: AsyncSession, connection_id: uuid.UUID, user_id: uuid.UUID) -> UserRead:
    user = await CatalogRepository(session).get_user(connection_id, user_id)
    if user is None:
        raise NotFound("user not found")
    return UserRead.from_model(user)


async def list_users(
    session: AsyncSession,
    connection_id: uuid.UUID,
    filters: UserFilters,
    *,
    limit: int,
    offset: int,
) -> tuple[list[UserRead], int]:
    rows, total = await CatalogRepository(session).list_users(
        connection_id, filters, limit=limit, offset=offset
    )
    return [UserRead.from_model(u) for u in rows], total


async def keyset_users(
    session: AsyncSession, connection_id: uuid.UUID, filters: UserFilters, *, limit: int, seek: Seek
) -> KeysetPage[UserRead]:
    page = await CatalogRepository(session).keyset_users(
        connection_id, filters, limit=limit, seek=seek
    )
    return _mapped(page, UserRead.from_model)
