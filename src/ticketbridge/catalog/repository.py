"""All catalog SQL: projects, issue types, users and project membership.

Written by the sync, read by the catalog routes and by ticket resolution (a write's UUID
forms, the UUID links of a synced ticket). Every query is scoped to the connection: a UUID of
another connection finds nothing, so the caller answers 404 and never sends another tenant's
vendor id to the vendor.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.connectors import NormalizedIssueType, NormalizedProject, NormalizedUser
from ticketbridge.store.base import utcnow, uuid7
from ticketbridge.store.keyset import KeysetPage, Seek, keyset_page
from ticketbridge.store.models import IssueType, Project, ProjectUser, User
from ticketbridge.store.upsert import insert_ignore, upsert

_PROJECTS = Project.__table__.c
_TYPES = IssueType.__table__.c


def _create_refs(ref: Any) -> Select[uuid.UUID, str, uuid.UUID, str]:
    # Built once: every single create runs it, and building the statement (operator
    # overloading, coercions) cost more than SQLite's work for it. The tables' own columns,
    # run on the session's connection: no ORM statement handling for four plain values.
    return (
        select(_PROJECTS.id, _PROJECTS.key, _TYPES.id, _TYPES.name)
        .select_from(
            Project.__table__.outerjoin(
                IssueType.__table__,
                (_TYPES.project_id == _PROJECTS.id) & (_TYPES.vendor_id == bindparam("type")),
            )
        )
        .where(_PROJECTS.connection_id == bindparam("connection_id"), ref == bindparam("ref"))
        .limit(1)
    )


_REFS_BY_KEY = _create_refs(_PROJECTS.key)
_REFS_BY_VENDOR_ID = _create_refs(_PROJECTS.vendor_id)


@dataclass(frozen=True, slots=True)
class CreateRefs:
    """A create's project and issue type as the catalog knows them (``create_refs``)."""

    project_id: uuid.UUID
    project_key: str
    type_id: uuid.UUID | None
    type_name: str | None


@dataclass(frozen=True)
class UserFilters:
    name: str | None = None
    email: str | None = None
    status: str | None = None
    project_id: uuid.UUID | None = None
    updated_since: datetime | None = None


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- projects ------------------------------------------------------------------------------
    async def upsert_projects(
        self, connection_id: uuid.UUID, projects: Sequence[NormalizedProject]
    ) -> None:
        if not projects:
            return
        now = utcnow()
        rows = [
            {
                "id": uuid7(),
                "connection_id": connection_id,
                "vendor_id": p.vendor_id,
                "key": p.key,
                "name": p.name,
                "project_type": p.project_type,
                "description": p.description,
                "active": True,
                "vendor_attributes": {
                    "vendor": p.vendor or "JIRA",
                    "id": p.vendor_id,
                    "key": p.key,
                },
                "created_at": now,
                "updated_at": now,
            }
            for p in {p.vendor_id: p for p in projects}.values()
        ]
        cols = ("key", "name", "project_type", "description", "vendor_attributes")
        await upsert(
            self.session,
            Project.__table__,  # type: ignore[arg-type]
            rows,
            conflict=("connection_id", "vendor_id"),
            update=cols,
            always=("active", "updated_at"),
            revive=True,
        )

    async def projects_by_vendor_id(
        self, connection_id: uuid.UUID, vendor_ids: Sequence[str]
    ) -> dict[str, uuid.UUID]:
        rows = await self.session.execute(
            select(Project.vendor_id, Project.id).where(
                Project.connection_id == connection_id, Project.vendor_id.in_(list(vendor_ids))
            )
        )
        return {v: i for v, i in rows}

    async def deactivate_projects_except(
        self, connection_id: uuid.UUID, keep_vendor_ids: Sequence[str]
    ) -> int:
        result = await self.session.execute(
            update(Project)
            .where(
                Project.connection_id == connection_id,
                Project.active.is_(True),
                Project.vendor_id.not_in(list(keep_vendor_ids)),
            )
            .values(active=False, updated_at=utcnow())
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def active_project_keys(self, connection_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
        rows = await self.session.execute(
            select(Project.id, Project.key)
            .where(Project.connection_id == connection_id, Project.active.is_(True))
            .order_by(Project.key)
        )
        return list(rows)

    def _projects(self, connection_id: uuid.UUID) -> Select[Any]:
        return select(Project).where(Project.connection_id == connection_id)

    async def get_project(self, connection_id: uuid.UUID, project_id: uuid.UUID) -> Project | None:
        found: Project | None = await self.session.scalar(
            self._projects(connection_id).where(Project.id == project_id)
        )
        return found

    async def project_ids_by_key(
        self, connection_id: uuid.UUID, keys: Sequence[str]
    ) -> dict[str, uuid.UUID]:
        if not keys:
            return {}
        rows = await self.session.execute(
            select(Project.key, Project.id).where(
                Project.connection_id == connection_id, Project.key.in_(list(keys))
            )
        )
        return {k: i for k, i in rows}

    async def create_refs(
        self, connection_id: uuid.UUID, project_ref: str, type_vendor_id: str | None
    ) -> CreateRefs | None:
        """What the catalog knows of a create's project (by key, or numeric vendor id) and
        issue type (by vendor id), in one query; None when the project is not synced."""
        stmt = _REFS_BY_VENDOR_ID if project_ref.isdigit() else _REFS_BY_KEY
        params = {"connection_id": connection_id, "ref": project_ref, "type": type_vendor_id}
        conn = await self.session.connection()
        row = (await conn.execute(stmt, params)).first()
        return CreateRefs(*row) if row is not None else None

    async def list_projects(
        self, connection_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[Project], int]:
        return await self._offset(self._projects(connection_id), Project.id, limit, offset)

    async def keyset_projects(
        self, connection_id: uuid.UUID, *, limit: int, seek: Seek
    ) -> KeysetPage[Project]:
        return await keyset_page(
            self.session, self._projects(connection_id), Project.id, limit=limit, seek=seek
        )

    # -- issue types ---------------------------------------------------------------------------
    async def upsert_issue_types(
        self, connection_id: uuid.UUID, project_id: uuid.UUID, types: Sequence[NormalizedIssueType]
    ) -> None:
        if not types:
            return
        now = utcnow()
        rows = [
            {
                "id": uuid7(),
                "connection_id": connection_id,
                "project_id": project_id,
                "vendor_id": t.vendor_id,
                "name": t.name,
                "description": t.description,
                "subtask": t.subtask,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for t in {t.vendor_id: t for t in types}.values()
        ]
        await upsert(
            self.session,
            IssueType.__table__,  # type: ignore[arg-type]
            rows,
            conflict=("connection_id", "project_id", "vendor_id"),
            update=("name", "description", "subtask"),
            always=("active", "updated_at"),
            revive=True,
        )

    async def deactivate_issue_types_except(
        self, connection_id: uuid.UUID, project_id: uuid.UUID, keep_vendor_ids: Sequence[str]
    ) -> None:
        await self.session.execute(
            update(IssueType)
            .where(
                IssueType.connection_id == connection_id,
                IssueType.project_id == project_id,
                IssueType.active.is_(True),
                IssueType.vendor_id.not_in(list(keep_vendor_ids)),
            )
            .values(active=False, updated_at=utcnow())
        )

    async def get_issue_type(
        self, connection_id: uuid.UUID, type_id: uuid.UUID
    ) -> IssueType | None:
        found: IssueType | None = await self.session.scalar(
            select(IssueType).where(
                IssueType.connection_id == connection_id, IssueType.id == type_id
            )
        )
        return found

    async def active_issue_types(
        self, connection_id: uuid.UUID, project_id: uuid.UUID
    ) -> list[IssueType]:
        """The synced, still active issue types of one project, by name."""
        rows = await self.session.scalars(
            select(IssueType)
            .where(
                IssueType.connection_id == connection_id,
                IssueType.project_id == project_id,
                IssueType.active.is_(True),
            )
            .order_by(IssueType.name)
        )
        return list(rows)

    async def issue_type_ids(
        self,
        connection_id: uuid.UUID,
        project_ids: Sequence[uuid.UUID],
        vendor_ids: Sequence[str],
    ) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
        """``(project id, issue type vendor id) -> issue type id`` of those projects."""
        if not project_ids or not vendor_ids:
            return {}
        rows = await self.session.execute(
            select(IssueType.project_id, IssueType.vendor_id, IssueType.id).where(
                IssueType.connection_id == connection_id,
                IssueType.project_id.in_(list(project_ids)),
                IssueType.vendor_id.in_(list(vendor_ids)),
            )
        )
        return {(p, v): i for p, v, i in rows}

    def _issue_types(self, connection_id: uuid.UUID, project_id: uuid.UUID | None) -> Select[Any]:
        stmt = select(IssueType).where(IssueType.connection_id == connection_id)
        if project_id is not None:
            stmt = stmt.where(IssueType.project_id == project_id)
        return stmt

    async def list_issue_types(
        self, connection_id: uuid.UUID, project_id: uuid.UUID | None, *, limit: int, offset: int
    ) -> tuple[list[IssueType], int]:
        stmt = self._issue_types(connection_id, project_id)
        return await self._offset(stmt, IssueType.id, limit, offset)

    async def keyset_issue_types(
        self, connection_id: uuid.UUID, project_id: uuid.UUID | None, *, limit: int, seek: Seek
    ) -> KeysetPage[IssueType]:
        stmt = self._issue_types(connection_id, project_id)
        return await keyset_page(self.session, stmt, IssueType.id, limit=limit, seek=seek)

    # -- users ---------------------------------------------------------------------------------
    async def upsert_users(
        self, connection_id: uuid.UUID, users: Sequence[NormalizedUser]
    ) -> dict[str, uuid.UUID]:
        """Upsert one page of users; returns accountId -> user id for the page."""
        unique = list({u.vendor_id: u for u in users}.values())
        if not unique:
            return {}
        now = utcnow()
        rows = [
            {
                "id": uuid7(),
                "connection_id": connection_id,
                "vendor_id": u.vendor_id,
                "name": u.name,
                "email": u.email,
                "status": u.status,
                "account_type": u.account_type,
                "vendor_attributes": {
                    "id": u.vendor_id,
                    "vendor": u.vendor or "JIRA",
                    "data": {"vendor": u.vendor or "JIRA", "accountType": u.account_type},
                },
                "created_at": now,
                "updated_at": now,
            }
            for u in unique
        ]
        cols = ("name", "email", "status", "account_type", "vendor_attributes")
        await upsert(
            self.session,
            User.__table__,  # type: ignore[arg-type]
            rows,
            conflict=("connection_id", "vendor_id"),
            update=cols,
        )
        return await self.user_ids_by_vendor_id(connection_id, [u.vendor_id for u in unique])

    async def user_ids_by_vendor_id(
        self, connection_id: uuid.UUID, vendor_ids: Sequence[str]
    ) -> dict[str, uuid.UUID]:
        """``accountId -> user id`` of the stored ones among ``vendor_ids``."""
        if not vendor_ids:
            return {}
        found = await self.session.execute(
            select(User.vendor_id, User.id).where(
                User.connection_id == connection_id, User.vendor_id.in_(list(vendor_ids))
            )
        )
        return {v: i for v, i in found}

    async def link_project_users(
        self, project_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> None:
        if user_ids:
            rows = [{"project_id": project_id, "user_id": u} for u in dict.fromkeys(user_ids)]
            await insert_ignore(
                self.session,
                ProjectUser.__table__,  # type: ignore[arg-type]
                rows,
                conflict=("project_id", "user_id"),
            )

    async def unlink_project_users_except(
        self, project_id: uuid.UUID, keep_user_ids: Sequence[uuid.UUID]
    ) -> None:
        stmt = delete(ProjectUser).where(ProjectUser.project_id == project_id)
        if keep_user_ids:
            stmt = stmt.where(ProjectUser.user_id.not_in(list(keep_user_ids)))
        await self.session.execute(stmt)

    def _users(self, connection_id: uuid.UUID, f: UserFilters) -> Select[Any]:
        stmt = select(User).where(User.connection_id == connection_id)
        if f.name:
            stmt = stmt.where(User.name.icontains(f.name, autoescape=True))
        if f.email:
            stmt = stmt.where(func.lower(User.email) == f.email.lower())
        if f.status:
            stmt = stmt.where(User.status == f.status)
        if f.project_id is not None:
            member = select(ProjectUser.user_id).where(ProjectUser.project_id == f.project_id)
            stmt = stmt.where(User.id.in_(member))
        if f.updated_since is not None:
            stmt = stmt.where(User.updated_at >= f.updated_since)
        return stmt

    async def get_user(self, connection_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        found: User | None = await self.session.scalar(
            select(User).where(User.connection_id == connection_id, User.id == user_id)
        )
        return found

    async def list_users(
        self, connection_id: uuid.UUID, f: UserFilters, *, limit: int, offset: int
    ) -> tuple[list[User], int]:
        return await self._offset(self._users(connection_id, f), User.id, limit, offset)

    async def keyset_users(
        self, connection_id: uuid.UUID, f: UserFilters, *, limit: int, seek: Seek
    ) -> KeysetPage[User]:
        stmt = self._users(connection_id, f)
        return await keyset_page(self.session, stmt, User.id, limit=limit, seek=seek)

    # -- shared --------------------------------------------------------------------------------
    async def _offset(
        self, stmt: Select[Any], id_col: Any, limit: int, offset: int
    ) -> tuple[list[Any], int]:
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = (await self.session.scalars(stmt.order_by(id_col).limit(limit).offset(offset))).all()
        return list(rows), int(total or 0)
