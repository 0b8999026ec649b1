"""SQL for ``idempotency_keys``: find, complete, remove, purge (claims are plain inserts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select, update

from ticketbridge.store.models import IdempotencyKey
from ticketbridge.store.repository import RepositoryBase

IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"


class IdempotencyRepository(RepositoryBase[IdempotencyKey]):
    model = IdempotencyKey

    async def find(
        self, account_id: uuid.UUID, connection_id: uuid.UUID, route: str, key: str
    ) -> IdempotencyKey | None:
        return await self.session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.account_id == account_id,
                IdempotencyKey.connection_id == connection_id,
                IdempotencyKey.route == route,
                IdempotencyKey.key == key,
            )
        )

    async def complete(
        self, row_id: uuid.UUID, *, status_code: int, body: Any, expires_at: datetime
    ) -> None:
        await self.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == row_id)
            .values(
                status=DONE, response_status=status_code, response_body=body, expires_at=expires_at
            )
        )

    async def remove(self, row_id: uuid.UUID, *, only_in_progress: bool = False) -> None:
        stmt = delete(IdempotencyKey).where(IdempotencyKey.id == row_id)
        if only_in_progress:
            stmt = stmt.where(IdempotencyKey.status == IN_PROGRESS)
        await self.session.execute(stmt)

    async def purge_expired(
        self, account_id: uuid.UUID, connection_id: uuid.UUID, route: str, now: datetime
    ) -> int:
        result = await self.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.account_id == account_id,
                IdempotencyKey.connection_id == connection_id,
                IdempotencyKey.route == route,
                IdempotencyKey.expires_at < now,
            )
        )
        return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0
