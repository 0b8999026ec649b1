"""Keyset (seek) pages over a UUID primary key: ``WHERE id > :last ORDER BY id LIMIT n``.

Ids are time-ordered uuid7 values, so id order is roughly creation order, and every page,
however deep, is one index range scan: no OFFSET, no count. Rows inserted during a walk sort
after the rows that existed when it started (or, within the same millisecond, anywhere), so a
walk never returns a row twice and never misses a row that existed at its start.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")


@dataclass(frozen=True)
class Seek:
    """Where a page starts: strictly after ``after`` or strictly before ``before``."""

    after: uuid.UUID | None = None
    before: uuid.UUID | None = None


@dataclass
class KeysetPage(Generic[T]):
    items: list[T]
    # The anchors of the neighbouring pages, or None when there is no such page.
    next_after: uuid.UUID | None
    previous_before: uuid.UUID | None


def _shift(value: uuid.UUID, delta: int) -> uuid.UUID:
    return uuid.UUID(int=min(max(value.int + delta, 0), (1 << 128) - 1))


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    id_col: InstrumentedAttribute[uuid.UUID],
    *,
    limit: int,
    seek: Seek,
    key: Any = None,
) -> KeysetPage[Any]:
    """One page of ``stmt`` (an entity select, already filtered) in ``id_col`` order.

    ``key`` extracts the id from a row (defaults to ``row.id``).
    """
    get_id = key or (lambda row: row.id)
    backwards = seek.before is not None
    if backwards:
        assert seek.before is not None
        q = stmt.where(id_col < seek.before).order_by(id_col.desc())
    else:
        q = stmt.where(id_col > seek.after) if seek.after is not None else stmt
        q = q.order_by(id_col.asc())
    rows = list((await session.scalars(q.limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()

    async def exists(cond: Any) -> bool:
        found = await session.scalar(select(stmt.where(cond).order_by(None).exists()))
        return bool(found)

    if rows:
        first, last = get_id(rows[0]), get_id(rows[-1])
        if backwards:
            has_next = await exists(id_col > last)
            has_prev = more
        else:
            has_next = more
            has_prev = seek.after is not None and await exists(id_col < first)
        return KeysetPage(rows, last if has_next else None, first if has_prev else None)
    # An empty page (rows vanished under the cursor): point back at whatever is left.
    anchor = seek.before if backwards else seek.after
    if anchor is None:
        return KeysetPage([], None, None)
    has_next = await exists(id_col >= anchor)
    has_prev = await exists(id_col <= anchor)
    return KeysetPage(
        [],
        _shift(anchor, -1) if has_next else None,
        _shift(anchor, +1) if has_prev else None,
    )
