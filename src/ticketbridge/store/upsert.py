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
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(session: AsyncSession, table: Table) -> Any:
    return (postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert)(table)


@lru_cache(maxsize=64)
def _upsert_statement(
    dialect: str,
    table: Table,
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    always: tuple[str, ...],
    revive: bool,
) -> Any:
    # Built once per shape: constructing an INSERT with its "excluded" alias copies every
    # column, garbage a page loop should not make on every page.
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    changed: list[ColumnElement[bool]] = [
        table.c[c].is_distinct_from(stmt.excluded[c]) for c in update
    ]
    if revive:
        changed.append(table.c.active.is_(False))
    set_ = {c: stmt.excluded[c] for c in (*update, *always)}
    return stmt.on_conflict_do_update(
        index_elements=list(conflict), set_=set_, where=or_(*changed)
    ).returning(*[table.c[c] for c in conflict])


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Iterable[str],
    update: Iterable[str],
    always: Iterable[str] = ("updated_at",),
    revive: bool = False,
) -> int:
    """Upsert ``rows`` (dicts with every column). On conflict, the ``update`` columns take
    the incoming values when any of them differs (or, with ``revive``, when the row is
    inactive), and the ``always`` columns (e.g. ``updated_at``) are then taken too. Returns
    the number of rows inserted or changed."""
    if not rows:
        return 0
    stmt = _upsert_statement(
        dialect_name(session), table, tuple(conflict), tuple(update), tuple(always), revive
    )
    result = await session.execute(stmt, list(rows))
    return len(result.all())


async def insert_ignore(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, conflict: Iterable[str]
) -> None:
    if rows:
        stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(conflict))
        await session.execute(stmt, list(rows))


async def insert_new(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    returning: Iterable[str],
) -> list[tuple[Any, ...]]:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING``: rows that collide with an existing
    one on any unique constraint are skipped, never changed. Returns the ``returning``
    columns of the rows that went in (one execution for the batch)."""
    if not rows:
        return []
    stmt = (
        _insert(session, table).on_conflict_do_nothing().returning(*[table.c[c] for c in returning])
    )
    result = await session.execute(stmt, list(rows))
    return [tuple(row) for row in result.all()]
