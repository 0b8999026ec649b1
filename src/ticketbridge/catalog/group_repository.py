"""Group SQL: the sync's upserts and the ``/v1/itsm/groups`` reads, scoped to a connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.connectors import NormalizedGroup
from ticketbridge.store.base import utcnow, uuid7
from ticketbridge.store.keyset import KeysetPage, Seek, keyset_page
from ticketbridge.store.models import Group
from ticketbridge.store.upsert import upsert


@dataclass(frozen=True)
class GroupFilters:
    name: str | None = None
    active: bool | None = None
    updated_since: datetime | None = None


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert_groups(
        self, connection_id: uuid.UUID, groups: Sequence[NormalizedGroup]
    ) -> None:
        unique = list({g.vendor_id: g for g in groups}.values())
        if not unique:
            return
        now = utcnow()
        rows = [
            {
                "id": uuid7(),
                "connection_id": connection_id,
                "vendor_id": g.vendor_id,
                "name": g.name,
                "description": g.description,
                "email": g.email,
                "manager_vendor_id": g.manager_vendor_id,
                "active": g.active,
                "vendor_attributes": {"id": g.vendor_id, "vendor": g.vendor},
                "vendor_updated_at": g.vendor_updated_at,
                "created_at": now,
                "updated_at": now,
            }
            for g in unique
        ]
        cols = (
            "name",
            "description",
            "email",
            "manager_vendor_id",
            "active",
            "vendor_attributes",
            "vendor_updated_at",
        )
        await upsert(
            self.session,
            Group.__table__,  # type: ignore[arg-type]
            rows,
            conflict=("connection_id", "vendor_id"),
            update=cols,
        )

    async def deactivate_except(
        self, connection_id: uuid.UUID, keep_vendor_ids: Sequence[str]
    ) -> int:
        """Groups the vendor no longer lists become inactive (rows are never deleted)."""
        stmt = update(Group).where(Group.connection_id == connection_id, Group.active.is_(True))
        if keep_vendor_ids:
            stmt = stmt.where(Group.vendor_id.not_in(list(keep_vendor_ids)))
        result = await self.session.execute(stmt.values(active=False, updated_at=utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)

    def _groups(self, connection_id: uuid.UUID, f: GroupFilters) -> Select[Any]:
        stmt = select(Group).where(Group.connection_id == connection_id)
        if f.name:
            stmt = stmt.where(Group.name.icontains(f.name, autoescape=True))
        if f.active is not None:
            stmt = stmt.where(Group.active.is_(f.active))
        if f.updated_since is not None:
            stmt = stmt.where(Group.updated_at >= f.updated_since)
        return stmt

    async def get(self, connection_id: uuid.UUID, group_id: uuid.UUID) -> Group | None:
        found: Group | None = await self.session.scalar(
            select(Group).where(Group.connection_id == connection_id, Group.id == group_id)
        )
        return found

    async def list(
        self, connection_id: uuid.UUID, f: GroupFilters, *, limit: int, offset: int
    ) -> tuple[list[Group], int]:
        stmt = self._groups(connection_id, f)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.session.scalars(stmt.order_by(Group.id).limit(limit).offset(offset))
        return list(rows.all()), int(total or 0)

    async def keyset(
        self, connection_id: uuid.UUID, f: GroupFilters, *, limit: int, seek: Seek
    ) -> KeysetPage[Group]:
        stmt = self._groups(connection_id, f)
        return await keyset_page(self.session, stmt, Group.id, limit=limit, seek=seek)
