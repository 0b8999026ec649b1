"""Store lookups that resolve the UUID forms of a ticket write.

Every lookup is scoped to the connection: a UUID of another connection finds nothing, so the
caller answers 404 and never sends another tenant's vendor id to Jira.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.store.models import IssueType, Project, User


class CatalogLookups:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def project(self, connection_id: uuid.UUID, project_id: uuid.UUID) -> Project | None:
        return await self.session.scalar(
            select(Project).where(Project.connection_id == connection_id, Project.id == project_id)
        )

    async def issue_type(self, connection_id: uuid.UUID, type_id: uuid.UUID) -> IssueType | None:
        return await self.session.scalar(
            select(IssueType).where(
                IssueType.connection_id == connection_id, IssueType.id == type_id
            )
        )

    async def issue_types(self, connection_id: uuid.UUID, project_id: uuid.UUID) -> list[IssueType]:
        """The synced, still active issue types of one project."""
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

    async def user(self, connection_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        return await self.session.scalar(
            select(User).where(User.connection_id == connection_id, User.id == user_id)
        )
