"""``INSERT ... ON CONFLICT DO UPDATE`` for both backends, one execution per batch.

The statement is compiled once (and cached). On PostgreSQL a batch goes through
SQLAlchemy's "insertmanyvalues" path, which sends multi-row ``VALUES`` statements with
``RETURNING``, so a page of rows costs one round trip and no per-batch SQL compilation.

On SQLite, a batch of rows that name every column of the table is converted to the stored
form here, in one pass (each column's own bind processor, SQLAlchemy's, except that UTC
times take a direct equivalent), and handed to the driver's ``executemany``: one prepared
statement run for every row inside SQLite's thread, instead of a multi-row statement of
thousands of parameters that SQLAlchemy builds, processes and fetches back row by row. A
sync page spends most of its write time there. The count comes from the driver's
``rowcount`` (SQLite counts a row an upsert inserted or updated, not one whose update was
skipped by the ``WHERE``), which is what ``RETURNING`` counts on the other path.

Updates are conditional: a conflicting row is rewritten only when one of the updated columns
actually differs, so re-reading an unchanged vendor object leaves its ``updated_at`` alone
(``updatedSince`` filters and change detection rely on that). ``RETURNING`` then yields only
the rows inserted or changed, which is the count :func:`upsert` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.store.base import UTCDateTime
from ticketbridge.store.session import note_write

Convert = Callable[[Any], Any]


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
    returning: bool = True,
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
    upserting = stmt.on_conflict_do_update(
        index_elements=list(conflict), set_=set_, where=or_(*changed)
    )
    return upserting.returning(*[table.c[c] for c in conflict]) if returning else upserting


def _sqlite_time(general: Convert) -> Convert:
    """``UTCDateTime`` then SQLite's ``DATETIME`` bind processing, for a datetime: naive UTC
    as ``YYYY-MM-DD HH:MM:SS.ffffff``. One call per value (six a ticket row)."""

    # The last value converted and its text, as one tuple (replaced whole, so threads
    # sharing the plan never see a mismatched pair): a page's rows share their
    # created_at/updated_at object, converted once instead of twice a row.
    last: tuple[Any, Any] = (None, None)

    def convert(value: Any) -> Any:
        nonlocal last
        seen = last
        if seen[0] is value and value is not None:
            return seen[1]
        if type(value) is not datetime:
            return general(value)
        if value.tzinfo is UTC:  # the common case: "YYYY-MM-DD HH:MM:SS.ffffff+00:00", cut
            text = value.isoformat(" ", "microseconds")[:-6]
        elif value.tzinfo is not None:
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        else:
            text = value.isoformat(" ", "microseconds")
        last = (value, text)  # datetimes are immutable: the same object, the same text
        return text

    return convert


def _converter(column: Any, dialect: Dialect) -> Convert | None:
    general = column.type.dialect_impl(dialect).bind_processor(dialect)
    if general is None:
        return None
    if isinstance(column.type, UTCDateTime):
        return _sqlite_time(general)
    return general  # type: ignore[no-any-return]


@lru_cache(maxsize=16)
def sqlite_converters(table: Table, columns: tuple[str, ...]) -> tuple[Convert | None, ...]:
    """Each column's conversion to what SQLite stores (None: stored as it is), as
    :func:`upsert` does it, for work that prepares rows away from the writer (a sync page in
    its helper process). The engine's SQLite dialect (no JSON serializer configured: the
    standard library's ``json.dumps``, so the text is the one stored by every other path)."""
    dialect = _SQLITE
    return tuple(_converter(table.c[c], dialect) for c in columns)


_SQLITE = SQLiteDialect_aiosqlite()


@lru_cache(maxsize=64)
def _sqlite_plan(
    dialect: Dialect,
    table: Table,
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    always: tuple[str, ...],
    revive: bool,
    keys: tuple[str, ...],
    ready: tuple[str, ...] = (),
) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], tuple[tuple[int, Convert], ...]]:
    """The upsert's SQL (no ``RETURNING``), a getter of a row's values in its parameter
    order, and the positions that need converting to the stored form, with their
    conversion (the others, text and numbers, and the ``ready`` columns, already in their
    stored form, go to the driver as they are)."""
    stmt = _upsert_statement("sqlite", table, conflict, update, always, revive, False)
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
    order = list(compiled.positiontup or [])
    converts = [
        (k, None if c in ready else _converter(table.c[c], dialect)) for k, c in enumerate(order)
    ]
    getter = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
    return compiled.string, getter, tuple((k, f) for k, f in converts if f is not None)


def _sqlite_params(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    shape: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], bool],
    ready: tuple[str, ...] = (),
) -> tuple[str, list[tuple[Any, ...]]] | None:
    """The SQL and the converted parameter rows, or None when a row lacks a column."""
    dialect = session.get_bind().dialect
    sql, getter, converts = _sqlite_plan(dialect, table, *shape, tuple(table.c.keys()), ready)
    # The row's values come out in one C call; only the columns that have a conversion
    # (UUIDs, times, JSON, booleans) cost a Python call each.
    params: list[tuple[Any, ...]] = []
    try:
        for row in rows:
            values = list(getter(row))
            for k, convert in converts:
                values[k] = convert(values[k])
            params.append(tuple(values))  # the driver API takes tuples, not lists
    except KeyError:
        return None
    return sql, params


async def _sqlite_upsert(
    session: AsyncSession, table: Table, prepared: tuple[str, list[tuple[Any, ...]]]
) -> int:
    sql, params = prepared
    connection = await session.connection()
    result = await connection.exec_driver_sql(sql, params)
    note_write(session, table.name)
    return int(result.rowcount)


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Iterable[str],
    update: Iterable[str],
    always: Iterable[str] = ("updated_at",),
    revive: bool = False,
    ready: Iterable[str] = (),
) -> int:
    """Upsert ``rows`` (dicts with every column). On conflict, the ``update`` columns take
    the incoming values when any of them differs (or, with ``revive``, when the row is
    inactive), and the ``always`` columns (e.g. ``updated_at``) are then taken too. Returns
    the number of rows inserted or changed.

    ``ready`` (SQLite only) names columns whose values are already in SQLite's stored form
    (:func:`sqlite_converters`), which then go to the driver as they are."""
    if not rows:
        return 0
    shape = (tuple(conflict), tuple(update), tuple(always), revive)
    dialect = dialect_name(session)
    width = len(table.c)
    stored = tuple(sorted(ready))
    if dialect == "sqlite" and all(len(row) == width for row in rows):
        # Rows of exactly the table's columns (a missing one raises KeyError below, before
        # anything is sent): nothing for SQLAlchemy to default.
        params = _sqlite_params(session, table, rows, shape, stored)
        if params is not None:
            return await _sqlite_upsert(session, table, params)
    if stored:  # SQLAlchemy would convert the stored text again (JSON encoded twice)
        raise ValueError("upsert: stored-form values need SQLite and rows of every column")
    stmt = _upsert_statement(dialect, table, *shape)
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
