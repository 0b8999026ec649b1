"""SQL for ``idempotency_keys``: find, complete, remove, purge (claims are plain inserts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, delete, insert, select, update

from ticketbridge.store.base import uuid7
from ticketbridge.store.models import IdempotencyKey
from ticketbridge.store.repository import RepositoryBase
from ticketbridge.store.upsert import insert_ignore, insert_new

_UNIQUE = ("account_id", "connection_id", "route", "key")

IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"
# A reservation whose work may have reached the vendor without being recorded.
UNSETTLED = "UNSETTLED"


# The statements every keyed or reserved create runs, built once on the table's columns
# (building them per call, ORM operators and coercions, cost more than SQLite's work).
_KEYS = IdempotencyKey.__table__.c
_EXISTS = (
    select(_KEYS.id)
    .where(
        _KEYS.account_id == bindparam("account_id"),
        _KEYS.connection_id == bindparam("connection_id"),
        _KEYS.route == bindparam("route"),
        _KEYS.key == bindparam("key"),
    )
    .limit(1)
)
_REMOVE = delete(IdempotencyKey).where(_KEYS.id == bindparam("row_id"))
_CLAIM = insert(cast(Table, IdempotencyKey.__table__))


class IdempotencyRepository(RepositoryBase[IdempotencyKey]):
    model = IdempotencyKey

    async def claim(self, values: dict[str, Any]) -> uuid.UUID:
        """Insert one claim row (``id`` made here), or IntegrityError when the key is held.
        A Core insert: nothing reads the row back, and the ORM's unit of work for it (an
        object, its flush) cost more than the statement."""
        row_id = uuid7()
        await self.session.execute(_CLAIM, {**values, "id": row_id})
        return row_id

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

    async def remove(
        self,
        row_id: uuid.UUID,
        *,
        only_in_progress: bool = False,
        expires_before: datetime | None = None,
    ) -> None:
        if not only_in_progress and expires_before is None:
            # Through the session (not its connection): the unit of work notes the write.
            await self.session.execute(_REMOVE, {"row_id": row_id})
            return
        stmt = delete(IdempotencyKey).where(IdempotencyKey.id == row_id)
        if only_in_progress:
            stmt = stmt.where(IdempotencyKey.status == IN_PROGRESS)
        if expires_before is not None:
            stmt = stmt.where(IdempotencyKey.expires_at <= expires_before)
        await self.session.execute(stmt)

    async def take_over(self, row: IdempotencyKey, expires_at: datetime, request_hash: str) -> bool:
        """Claim ``row`` as it was read (compare-and-set: of two takers, one wins); it is
        then the taker's (``request_hash``: a bulk create no longer counts it as its own)."""
        result = await self.session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == row.id,
                IdempotencyKey.status == row.status,
                IdempotencyKey.expires_at == row.expires_at,
            )
            .values(status=IN_PROGRESS, expires_at=expires_at, request_hash=request_hash)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def mark_unsettled(self, row_id: uuid.UUID, expires_at: datetime) -> None:
        await self.session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == row_id, IdempotencyKey.status == IN_PROGRESS)
            .values(status=UNSETTLED, expires_at=expires_at)
            .execution_options(synchronize_session=False)
        )

    async def insert_ignore(self, row: IdempotencyKey) -> None:
        """Insert ``row`` unless its (account, connection, route, key) exists."""
        values = {c.key: getattr(row, c.key) for c in IdempotencyKey.__table__.columns}
        if values.get("id") is None:
            values["id"] = uuid7()
        table = IdempotencyKey.__table__
        await insert_ignore(self.session, table, [values], conflict=_UNIQUE)  # type: ignore[arg-type]

    async def insert_many(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert rows of one (account, connection, route), skipping keys that exist;
        returns the keys inserted (one statement)."""
        if not rows:
            return set()
        for values in rows:
            values.setdefault("id", uuid7())
        table = IdempotencyKey.__table__
        inserted = await insert_new(self.session, table, rows, returning=("key",))  # type: ignore[arg-type]
        return {str(k) for (k,) in inserted}

    async def find_many(
        self, account_id: uuid.UUID, connection_id: uuid.UUID, route: str, keys: list[str]
    ) -> list[IdempotencyKey]:
        if not keys:
            return []
        found = await self.session.scalars(
            select(IdempotencyKey).where(
                IdempotencyKey.account_id == account_id,
                IdempotencyKey.connection_id == connection_id,
                IdempotencyKey.route == route,
                IdempotencyKey.key.in_(keys),
            )
        )
        return list(found)

    async def settle_tagged(
        self,
        account_id: uuid.UUID,
        connection_id: uuid.UUID,
        route: str,
        request_hash: str,
        *,
        remove: list[str],
        unsettle: list[str],
        expires_at: datetime,
    ) -> None:
        """Of the rows still holding ``request_hash`` (not taken over): delete those of
        ``remove``, mark those of ``unsettle`` UNSETTLED until ``expires_at``."""
        mine = (
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.connection_id == connection_id,
            IdempotencyKey.route == route,
            IdempotencyKey.request_hash == request_hash,
        )
        if remove:
            await self.session.execute(
                delete(IdempotencyKey)
                .where(*mine, IdempotencyKey.key.in_(remove))
                .execution_options(synchronize_session=False)
            )
        if unsettle:
            await self.session.execute(
                update(IdempotencyKey)
                .where(*mine, IdempotencyKey.key.in_(unsettle))
                .values(status=UNSETTLED, expires_at=expires_at)
                .execution_options(synchronize_session=False)
            )

    async def exists(
        self, account_id: uuid.UUID, connection_id: uuid.UUID, route: str, key: str
    ) -> bool:
        params = {"account_id": account_id, "connection_id": connection_id, "route": route}
        conn = await self.session.connection()
        return (await conn.execute(_EXISTS, {**params, "key": key})).first() is not None

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
