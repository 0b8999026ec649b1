"""SQL of the sync itself: sync state rows (checkpoints and the lease), the connections a
scheduler considers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Connection, SyncState
from ticketbridge.store.upsert import insert_ignore


@dataclass(frozen=True)
class ScheduleRow:
    connection_id: uuid.UUID
    refresh_interval_secs: int
    last_success_at: datetime | None
    last_finished_at: datetime | None
    lease_expires_at: datetime | None


class SyncRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- connections ---------------------------------------------------------------------------
    async def connection(self, connection_id: uuid.UUID) -> Connection | None:
        return await self.session.get(Connection, connection_id)

    async def schedule(self) -> list[ScheduleRow]:
        """Every active connection with its refresh interval and sync times."""
        rows = await self.session.execute(
            select(
                Connection.id,
                Connection.refresh_interval_secs,
                SyncState.last_success_at,
                SyncState.last_finished_at,
                SyncState.lease_expires_at,
            )
            .outerjoin(SyncState, SyncState.connection_id == Connection.id)
            .where(Connection.is_active.is_(True))
            .order_by(Connection.id)
        )
        return [ScheduleRow(*row) for row in rows]

    # -- state and lease -----------------------------------------------------------------------
    async def state(self, connection_id: uuid.UUID) -> SyncState | None:
        return await self.session.scalar(
            select(SyncState)
            .where(SyncState.connection_id == connection_id)
            .execution_options(populate_existing=True)
        )

    async def ensure_state(self, connection_id: uuid.UUID) -> None:
        await insert_ignore(
            self.session,
            SyncState.__table__,  # type: ignore[arg-type]
            [
                {
                    "connection_id": connection_id,
                    "status": "IDLE",
                    "cursor": {},
                    "counts": {},
                    "full_sync_done": False,
                    "updated_at": utcnow(),
                }
            ],
            conflict=("connection_id",),
        )

    async def acquire_lease(self, connection_id: uuid.UUID, owner: str, ttl: timedelta) -> bool:
        """Take the connection's sync lease if it is free, expired or already ours."""
        now = utcnow()
        result = await self.session.execute(
            update(SyncState)
            .where(
                SyncState.connection_id == connection_id,
                or_(
                    SyncState.lease_owner.is_(None),
                    SyncState.lease_owner == owner,
                    SyncState.lease_expires_at.is_(None),
                    SyncState.lease_expires_at < now,
                ),
            )
            .values(lease_owner=owner, lease_expires_at=now + ttl, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def save(
        self, connection_id: uuid.UUID, owner: str, ttl: timedelta | None, **values: Any
    ) -> bool:
        """Write state fields while holding the lease (renewing it when ``ttl`` is given);
        False when the lease was lost to another runner."""
        now = utcnow()
        values["updated_at"] = now
        if ttl is not None:
            values["lease_expires_at"] = now + ttl
        result = await self.session.execute(
            update(SyncState)
            .where(SyncState.connection_id == connection_id, SyncState.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def release(self, connection_id: uuid.UUID, owner: str, **values: Any) -> bool:
        return await self.save(
            connection_id, owner, None, lease_owner=None, lease_expires_at=None, **values
        )
