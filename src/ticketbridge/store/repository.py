"""Shared repository helpers: every SQL statement lives in a repository class."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.store.base import Base

M = TypeVar("M", bound=Base)


class RepositoryBase(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: M) -> M:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def delete(self, obj: M) -> None:
        await self.session.delete(obj)
        await self.session.flush()

    async def page(self, stmt: Select[Any], *, limit: int, offset: int) -> tuple[list[M], int]:
        # Without its ORDER BY the subquery is flattened into a plain count over the index;
        # with it SQLite materialized every row, every column (5,000 tickets: ~5 ms).
        counted = stmt.order_by(None).subquery()
        total = await self.session.scalar(select(func.count()).select_from(counted))
        rows = (await self.session.scalars(stmt.limit(limit).offset(offset))).all()
        return list(rows), int(total or 0)

    async def row_page(
        self, stmt: Select[Any], *, limit: int, offset: int
    ) -> tuple[list[Row[Any]], int]:
        """:meth:`page` of a column select: plain rows, through Core on the session's
        connection (same transaction, no ORM statement handling)."""
        conn = await self.session.connection()
        counted = stmt.order_by(None).subquery()
        total = (await conn.execute(select(func.count()).select_from(counted))).scalar()
        rows = (await conn.execute(stmt.limit(limit).offset(offset))).all()
        return list(rows), int(total or 0)
