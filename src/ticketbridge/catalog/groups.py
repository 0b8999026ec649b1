"""Assignment groups for the API: the wire schema and the reads (rows from the repository).

Groups exist for vendors whose capabilities include them (ServiceNow's ``sys_user_group``);
a connection to another vendor simply has none.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.catalog.group_repository import GroupFilters, GroupRepository
from ticketbridge.errors import NotFound
from ticketbridge.store.keyset import KeysetPage, Seek
from ticketbridge.store.models import Group


class GroupVendorAttributes(BaseModel):
    id: str
    vendor: str
    created_at: datetime
    updated_at: datetime | None
    data: dict[str, Any] = Field(default_factory=dict)


class GroupRead(BaseModel):
    id: uuid.UUID
    vendor_id: str  # the vendor's group id (ServiceNow sys_id)
    name: str
    description: str | None
    email: str | None
    manager_vendor_id: str | None
    active: bool
    vendor_attributes: GroupVendorAttributes
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, g: Group) -> GroupRead:
        vendor = str((g.vendor_attributes or {}).get("vendor") or "")
        return cls(
            id=g.id,
            vendor_id=g.vendor_id,
            name=g.name,
            description=g.description,
            email=g.email,
            manager_vendor_id=g.manager_vendor_id,
            active=g.active,
            vendor_attributes=GroupVendorAttributes(
                id=g.vendor_id,
                vendor=vendor,
                created_at=g.created_at,
                updated_at=g.vendor_updated_at,
                data={"vendor": vendor},
            ),
            created_at=g.created_at,
            updated_at=g.updated_at,
        )


async def get_group(
    session: AsyncSession, connection_id: uuid.UUID, group_id: uuid.UUID
) -> GroupRead:
    group = await GroupRepository(session).get(connection_id, group_id)
    if group is None:
        raise NotFound("group not found")
    return GroupRead.from_model(group)


async def list_groups(
    session: AsyncSession, connection_id: uuid.UUID, f: GroupFilters, *, limit: int, offset: int
) -> tuple[list[GroupRead], int]:
    rows, total = await GroupRepository(session).list(connection_id, f, limit=limit, offset=offset)
    return [GroupRead.from_model(g) for g in rows], total


async def keyset_groups(
    session: AsyncSession, connection_id: uuid.UUID, f: GroupFilters, *, limit: int, seek: Seek
) -> KeysetPage[GroupRead]:
    page = await GroupRepository(session).keyset(connection_id, f, limit=limit, seek=seek)
    return KeysetPage(
        [GroupRead.from_model(g) for g in page.items], page.next_after, page.previous_before
    )
