"""``INSERT ... ON CONFLICT DO UPDATE`` for both backends, one statement per batch.

Updates are conditional: a conflicting row is rewritten only when one of the updated columns
actually differs, so re-reading an unchanged vendor object leaves its ``updated_at`` alone
(``updatedSince`` filters and change detection rely on that).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Iterable[str],
    update: Iterable[str],
    always: dict[str, Any] | None = None,
    extra_when: Iterable[ColumnElement[bool]] = (),
) -> Any:
    """The upsert statement for ``rows``: ``update`` columns take the incoming values when any
    of them differs (or an ``extra_when`` holds); ``always`` columns are then set too."""
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    stmt = insert(table).values(list(rows))
    cols = list(update)
    changed = [table.c[c].is_distinct_from(stmt.excluded[c]) for c in cols]
    set_: dict[str, Any] = {c: stmt.excluded[c] for c in cols}
    set_.update(always or {})
    return stmt.on_conflict_do_update(
        index_elements=list(conflict), set_=set_, where=or_(*changed, *extra_when)
    )


def insert_ignore(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, conflict: Iterable[str]
) -> Any:
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    return insert(table).values(list(rows)).on_conflict_do_nothing(index_elements=list(conflict))
