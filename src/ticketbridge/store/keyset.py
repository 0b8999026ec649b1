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
# The extra column of a ``rows=True`` page that is not the first of a walk.
NEIGHBOUR = "keyset_neighbour"


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
    rows: bool = False,
) -> KeysetPage[Any]:
    """One page of ``stmt`` (an entity select, already filtered) in ``id_col`` order.

    ``key`` extracts the id from a row (defaults to ``row.id``). ``rows=True``: ``stmt``
    selects columns (one of them ``id``), and the page holds plain rows, read through Core on
    the session's connection (same transaction, no ORM statement handling). The rows then
    also answer, in the same statement, whether a row lies on the side the walk came from
    (column ``NEIGHBOUR``): the rows before this page's first are exactly those at or before
    ``after`` (the page starts right after it), and those after a backward page's last are
    those at or after ``before``; one statement instead of two.
    """
    get_id = key or (lambda row: row.id)
    conn = await session.connection() if rows else None
    backwards = seek.before is not None
    if backwards:
        assert seek.before is not None
        q = stmt.where(id_col < seek.before).order_by(id_col.desc())
    else:
        q = stmt.where(id_col > seek.after) if seek.after is not None else stmt
        q = q.order_by(id_col.asc())
    behind = (
        id_col >= seek.before
        if backwards
        else (id_col <= seek.after if seek.after is not None else None)
    )
    if conn is not None:
        if behind is not None:
            q = q.add_columns(stmt.where(behind).order_by(None).exists().label(NEIGHBOUR))
        found: list[Any] = list((await conn.execute(q.limit(limit + 1))).all())
    else:
        found = list((await session.scalars(q.limit(limit + 1))).all())
    more = len(found) > limit
    found = found[:limit]
    if backwards:
        found.reverse()

    async def exists(cond: Any) -> bool:
        probe = select(stmt.where(cond).order_by(None).exists())
        if conn is not None:
            return bool((await conn.execute(probe)).scalar())
        return bool(await session.scalar(probe))

    if found:
        first, last = get_id(found[0]), get_id(found[-1])
        folded = conn is not None and behind is not None
        if backwards:
            has_next = bool(found[0][-1]) if folded else await exists(id_col > last)
            has_prev = more
        else:
            has_next = more
            if seek.after is None:
                has_prev = False
            else:
                has_prev = bool(found[0][-1]) if folded else await exists(id_col < first)
        return KeysetPage(found, last if has_next else None, first if has_prev else None)
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
