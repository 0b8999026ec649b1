"""``INSERT ... ON CONFLICT DO UPDATE`` for both backends, one execution per batch.

The statement is compiled once (and cached); a batch goes through SQLAlchemy's
"insertmanyvalues" path, which sends multi-row ``VALUES`` statements with ``RETURNING``, so
a page of rows costs one round trip and no per-batch SQL compilation.

Updates are conditional: a conflicting row is rewritten only when one of the updated columns
actually differs, so re-reading an unchanged vendor object leaves its ``updated_at`` alone
(``updatedSince`` filters and change detection rely on that). ``RETURNING`` then yields only
the rows inserted or changed, which is the count :func:`upsert` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(session: AsyncSession, table: Table) -> Any:
    return (postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert)(table)


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Iterable[str],
    update: Iterable[str],
    always: dict[str, Any] | None = None,
    extra_when: Iterable[ColumnElement[bool]] = (),
) -> int:
    """Upsert ``rows``: ``update`` columns take the incoming values when any of them differs
    (or an ``extra_when`` holds), and ``always`` columns are then set too. Returns the number
    of rows inserted or changed."""
    if not rows:
        return 0
    stmt = _insert(session, table)
    cols = list(update)
    changed = [table.c[c].is_distinct_from(stmt.excluded[c]) for c in cols]
    set_: dict[str, Any] = {c: stmt.excluded[c] for c in cols}
    set_.update(always or {})
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict), set_=set_, where=or_(*changed, *extra_when)
    ).returning(*[table.c[c] for c in conflict])
    result = await session.execute(stmt, list(rows))
    return len(result.all())


async def insert_ignore(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, conflict: Iterable[str]
) -> None:
    if rows:
        stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(conflict))
        await session.execute(stmt, list(rows))
