"""Read-only counts behind the metrics gauges (queue depth, sync lag, tickets per connection).

Each is one indexed aggregate; the metrics endpoint runs them at most once per refresh
interval, not once per scrape.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.store.models import Connection, Job, SyncState, Ticket


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def job_queue(self) -> dict[str, int]:
        stmt = (
            select(Job.status, func.count())
            .where(Job.status.in_(("QUEUED", "RUNNING")))
            .group_by(Job.status)
        )
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def connection_ids(self) -> set[str]:
        return {str(cid) for cid in (await self.session.scalars(select(Connection.id))).all()}

    async def last_success(self) -> dict[str, datetime]:
        stmt = select(SyncState.connection_id, SyncState.last_success_at).where(
            SyncState.last_success_at.is_not(None)
        )
        rows = (await self.session.execute(stmt)).all()
        return {str(cid): at for cid, at in rows if at is not None}

    async def tickets_per_connection(self) -> dict[str, int]:
        stmt = select(Ticket.connection_id, func.count()).group_by(Ticket.connection_id)
        return {str(cid): int(n) for cid, n in (await self.session.execute(stmt)).all()}

    async def connections(self) -> list[Connection]:
        stmt = select(Connection).order_by(Connection.created_at, Connection.id)
        return list((await self.session.scalars(stmt)).all())
