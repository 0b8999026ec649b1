"""The store lookups of a bulk create: one query per kind of reference for every item of a
request (or job chunk), not two per item. Scoped to the connection like every catalog query:
another connection's UUID finds nothing, so the item gets its 404 text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.store.models import IssueType, Project, Ticket, User
from ticketbridge.tickets.repository import LinkCache


@dataclass(frozen=True)
class ProjectRef:
    id: uuid.UUID
    key: str


@dataclass(frozen=True)
class TypeRef:
    project_id: uuid.UUID
    vendor_id: str
    name: str
    active: bool
    id: uuid.UUID | None = None


@dataclass(frozen=True)
class TicketRef:
    vendor_id: str
    key: str


def _distinct(values: Iterable[object]) -> list[object]:
    return list(dict.fromkeys(values))


class BulkLookupRepository:
    def __init__(self, session: AsyncSession, connection_id: uuid.UUID) -> None:
        self.session = session
        self.connection_id = connection_id

    async def projects(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProjectRef]:
        wanted = _distinct(ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Project.id, Project.key).where(
                Project.connection_id == self.connection_id, Project.id.in_(wanted)
            )
        )
        return {i: ProjectRef(i, k) for i, k in rows}

    async def issue_types(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TypeRef]:
        wanted = _distinct(ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(
                IssueType.id,
                IssueType.project_id,
                IssueType.vendor_id,
                IssueType.name,
                IssueType.active,
            ).where(IssueType.connection_id == self.connection_id, IssueType.id.in_(wanted))
        )
        return {i: TypeRef(p, v, n, a, i) for i, p, v, n, a in rows}

    async def types_of_projects(self, project_ids: Iterable[uuid.UUID]) -> list[TypeRef]:
        """Every synced issue type of these projects, active or not, by name."""
        wanted = _distinct(project_ids)
        if not wanted:
            return []
        rows = await self.session.execute(
            select(
                IssueType.project_id,
                IssueType.vendor_id,
                IssueType.name,
                IssueType.active,
                IssueType.id,
            )
            .where(
                IssueType.connection_id == self.connection_id,
                IssueType.project_id.in_(wanted),
            )
            .order_by(IssueType.name)
        )
        return [TypeRef(p, v, n, a, i) for p, v, n, a, i in rows]

    async def type_names_by_vendor_ref(
        self,
        project_refs: Iterable[str],
        type_vendor_ids: Iterable[str],
        links: LinkCache | None = None,
    ) -> dict[tuple[str, str], str]:
        """``{(project key or numeric id, issue type vendor id): name}`` the catalog knows
        (the stored ticket's ``type`` of a vendor-id form). ``links`` receives the project
        and issue type ids read with them (storing the created tickets needs them)."""
        refs, types = _distinct(project_refs), _distinct(type_vendor_ids)
        if not refs or not types:
            return {}
        rows = await self.session.execute(
            select(
                Project.key,
                Project.vendor_id,
                IssueType.vendor_id,
                IssueType.name,
                Project.id,
                IssueType.id,
            )
            .join(IssueType, IssueType.project_id == Project.id)
            .where(
                Project.connection_id == self.connection_id,
                or_(Project.key.in_(refs), Project.vendor_id.in_(refs)),
                IssueType.vendor_id.in_(types),
            )
        )
        out: dict[tuple[str, str], str] = {}
        for key, numeric, type_id, name, project_uuid, type_uuid in rows:
            out[(key, type_id)] = out[(numeric, type_id)] = name
            if links is not None:
                links.projects[key] = project_uuid
                links.types[(project_uuid, type_id)] = type_uuid
        return out

    async def users(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        """``{user id: vendor id}``."""
        wanted = _distinct(ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(User.id, User.vendor_id).where(
                User.connection_id == self.connection_id, User.id.in_(wanted)
            )
        )
        return {i: v for i, v in rows}

    async def tickets(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TicketRef]:
        wanted = _distinct(ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Ticket.id, Ticket.vendor_id, Ticket.vendor_key).where(
                Ticket.connection_id == self.connection_id, Ticket.id.in_(wanted)
            )
        )
        return {i: TicketRef(v, k) for i, v, k in rows}

    async def ticket_keys(self, vendor_ids: Iterable[str]) -> dict[str, str]:
        """``{vendor id: key}`` of stored tickets (a parent named by its numeric id)."""
        wanted = _distinct(vendor_ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Ticket.vendor_id, Ticket.vendor_key).where(
                Ticket.connection_id == self.connection_id, Ticket.vendor_id.in_(wanted)
            )
        )
        return {v: k for v, k in rows}
