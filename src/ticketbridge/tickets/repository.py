"""All ticket SQL: lookups, filtered pages, the vendor upsert and reconciliation updates.

Identifier rule: a ticket first stored by the sync gets the identifier it was created with
through this connection (read back from the vendor: ``NormalizedIssue.identifier``), else its
vendor key (``ENG-12``); an existing identifier (e.g. the caller's own, set on create) is
never overwritten. When that value is already another ticket's identifier, the vendor key is
tried next and then the new ticket's own UUID, so a sync never fails on the
``(connection_id, identifier)`` constraint.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, Table, bindparam, exists, func, select, update
from sqlalchemy.orm import aliased

from ticketbridge.catalog.repository import CatalogRepository
from ticketbridge.connectors import NormalizedIssue
from ticketbridge.store.base import utcnow
from ticketbridge.store.keyset import KeysetPage, Seek, keyset_page
from ticketbridge.store.models import IdempotencyKey, Ticket
from ticketbridge.store.repository import RepositoryBase
from ticketbridge.store.sqlite_driver import inline_reads
from ticketbridge.store.upsert import insert_new, upsert
from ticketbridge.tickets.schemas import TicketRead
from ticketbridge.tickets.stored import Stored, issue_values, ready_columns, stored_page

# Columns the vendor owns: rewritten by every upsert that sees a difference.
VENDOR_COLUMNS = (
    "vendor_key",
    "name",
    "description",
    "status",
    "priority",
    "type",
    "type_id",
    "project_id",
    "parent_ticket_id",
    "assigned_user_id",
    "created_by_user_id",
    "project_vendor_id",
    "assigned_user_vendor_id",
    "parent_ticket_vendor_id",
    "url",
    "tags",
    "due_date",
    "ticket_created_at",
    "closed_at",
    "status_updated_at",
    "vendor_updated_at",
    "vendor_attributes",
)


# What a ticket read answers (``TicketRead``'s fields), selected as plain rows: no ORM
# objects, identity map or attribute instrumentation for data that is only rendered.
# Rows become dicts (zip with the names): pydantic reads a dict much faster than a Row's
# attributes.
# The table's own columns, not the ORM attributes: SQLAlchemy adapts a cached statement's
# result keys to each new statement's columns, and ORM-annotated columns compare equal to
# theirs by building SQL expressions (25 of them a statement, about a millisecond).
READ_NAMES = tuple(TicketRead.model_fields)
READ_COLUMNS = tuple(Ticket.__table__.c[name] for name in READ_NAMES)
# The single-ticket reads are built once: the same statement object each time skips building
# it, its cache key and the adaptation above.
_BY_ID = select(*READ_COLUMNS).where(
    Ticket.connection_id == bindparam("connection_id"), Ticket.id == bindparam("ticket_id")
)
_TICKETS = Ticket.__table__.c
_HOLDER = (
    select(_TICKETS.id)
    .where(
        _TICKETS.connection_id == bindparam("connection_id"),
        _TICKETS.identifier == bindparam("identifier"),
    )
    .limit(1)
)
_KEYS = IdempotencyKey.__table__.c
# A single create with an identifier asks both before its vendor call (tickets/identifiers.py):
# whether a ticket holds it, and whether the connection carries the journal's mark; one
# round trip (and one statement through SQLite's worker thread) instead of two.
_HOLDER_AND_MARK = select(
    _HOLDER.exists(),
    select(_KEYS.id)
    .where(
        _KEYS.account_id == bindparam("account_id"),
        _KEYS.connection_id == bindparam("connection_id"),
        _KEYS.route == bindparam("route"),
        _KEYS.key == bindparam("key"),
    )
    .exists(),
)
_BY_IDENTIFIER = select(*READ_COLUMNS).where(
    Ticket.connection_id == bindparam("connection_id"),
    Ticket.identifier == bindparam("identifier"),
)


def read_dicts(rows: Iterable[Row[Any]]) -> list[dict[str, Any]]:
    # strict=False: a keyset page's rows carry one more column, not wanted here.
    return [dict(zip(READ_NAMES, row, strict=False)) for row in rows]


@dataclass(frozen=True)
class TicketFilters:
    status: str | None = None
    priority: str | None = None
    project_id: uuid.UUID | None = None
    assigned_user_id: uuid.UUID | None = None
    type: str | None = None
    updated_since: datetime | None = None
    name: str | None = None
    active: bool | None = None


_NO_FILTERS = TicketFilters()


@dataclass(frozen=True)
class Presence:
    id: uuid.UUID
    vendor_id: str
    active: bool
    created_at: datetime


@dataclass
class LinkCache:
    """Catalog ids a run of page upserts has resolved already (``upsert_page``'s ``cache``).

    Safe to keep for a sync run: a project, issue type or user keeps its id once stored
    (upserts update in place; nothing but a cascade from the connection deletes them)."""

    projects: dict[str, uuid.UUID] = field(default_factory=dict)  # project key -> id
    types: dict[tuple[uuid.UUID, str], uuid.UUID] = field(default_factory=dict)
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # accountId -> id


@dataclass
class _Links:
    projects: dict[str, uuid.UUID]  # project key -> id
    types: dict[tuple[uuid.UUID, str], uuid.UUID]  # (project id, type vendor id) -> id
    users: dict[str, uuid.UUID]  # accountId -> id
    parents: dict[str, uuid.UUID]  # issue key -> id
    taken: dict[str, str]  # identifier -> vendor id of the ticket holding it


# The two reads of every sync page, built once: constructing and cache-keying a select per
# page costs more than running it. Each stays on its own (connection_id, ...) index; a
# merged OR of the two could not (bench/README.md, ingest second round).
_PARENT_HOLDERS = (
    select(Ticket.vendor_key, Ticket.id)
    .where(
        Ticket.connection_id == bindparam("c"),
        Ticket.vendor_key.in_(bindparam("keys", expanding=True)),
    )
    .order_by(Ticket.vendor_updated_at.asc().nulls_first())
)
_CREATED_IDS = ("vendor_id", "id", "identifier")
_TAKEN_IDENTIFIERS = select(Ticket.identifier, Ticket.vendor_id).where(
    Ticket.connection_id == bindparam("c"),
    Ticket.identifier.in_(bindparam("values", expanding=True)),
)


class TicketRepository(RepositoryBase[Ticket]):
    model = Ticket

    # -- lookups -------------------------------------------------------------------------------
    async def get(self, connection_id: uuid.UUID, ticket_id: uuid.UUID) -> Ticket | None:
        return await self.session.scalar(
            select(Ticket).where(Ticket.connection_id == connection_id, Ticket.id == ticket_id)
        )

    async def read_row(
        self, connection_id: uuid.UUID, ticket_id: uuid.UUID
    ) -> dict[str, Any] | None:
        """``READ_COLUMNS`` of one ticket, by name (``TicketRead.model_validate(row)``)."""
        return await self._first_row(_BY_ID, connection_id=connection_id, ticket_id=ticket_id)

    async def read_row_by_identifier(
        self, connection_id: uuid.UUID, identifier: str
    ) -> dict[str, Any] | None:
        return await self._first_row(
            _BY_IDENTIFIER, connection_id=connection_id, identifier=identifier
        )

    async def _first_row(self, stmt: Select[Any], **params: Any) -> dict[str, Any] | None:
        # Core execution on the session's connection (same transaction): the ORM's
        # statement handling is not needed for columns.
        conn = await self.session.connection()
        with inline_reads():  # one row by a unique index
            row: Row[Any] | None = (await conn.execute(stmt, params)).first()
        return None if row is None else dict(zip(READ_NAMES, row, strict=False))

    async def identifier_taken(self, connection_id: uuid.UUID, identifier: str) -> bool:
        """Whether some ticket of the connection holds ``identifier`` (one prebuilt statement:
        every single create with an identifier asks)."""
        conn = await self.session.connection()
        found = (
            await conn.execute(_HOLDER, {"connection_id": connection_id, "identifier": identifier})
        ).first()
        return found is not None

    async def identifier_taken_and_marked(
        self,
        connection_id: uuid.UUID,
        identifier: str,
        *,
        account_id: uuid.UUID,
        route: str,
        key: str,
    ) -> tuple[bool, bool]:
        """(whether some ticket of the connection holds ``identifier``, whether the
        connection's ``idempotency_keys`` row ``route``/``key`` exists), in one statement."""
        conn = await self.session.connection()
        params = {
            "connection_id": connection_id,
            "identifier": identifier,
            "account_id": account_id,
            "route": route,
            "key": key,
        }
        row = (await conn.execute(_HOLDER_AND_MARK, params)).one()
        return bool(row[0]), bool(row[1])

    async def get_by_identifier(self, connection_id: uuid.UUID, identifier: str) -> Ticket | None:
        return await self.session.scalar(
            select(Ticket).where(
                Ticket.connection_id == connection_id, Ticket.identifier == identifier
            )
        )

    async def get_by_vendor_key(self, connection_id: uuid.UUID, key: str) -> Ticket | None:
        # A key can repeat after an issue moved projects and another took its old key; the
        # most recently updated one is the live holder.
        return await self.session.scalar(
            select(Ticket)
            .where(Ticket.connection_id == connection_id, Ticket.vendor_key == key)
            .order_by(Ticket.active.desc(), Ticket.vendor_updated_at.desc().nulls_last())
            .limit(1)
        )

    async def get_by_vendor_id(self, connection_id: uuid.UUID, vendor_id: str) -> Ticket | None:
        return await self.session.scalar(
            select(Ticket).where(
                Ticket.connection_id == connection_id, Ticket.vendor_id == vendor_id
            )
        )

    # -- filtered reads ------------------------------------------------------------------------
    def _filtered(self, connection_id: uuid.UUID, f: TicketFilters) -> Select[Any]:
        stmt = select(*READ_COLUMNS).where(Ticket.connection_id == connection_id)
        if f.status is not None:
            stmt = stmt.where(Ticket.status == f.status)
        if f.priority is not None:
            stmt = stmt.where(Ticket.priority == f.priority)
        if f.project_id is not None:
            stmt = stmt.where(Ticket.project_id == f.project_id)
        if f.assigned_user_id is not None:
            stmt = stmt.where(Ticket.assigned_user_id == f.assigned_user_id)
        if f.type is not None:
            stmt = stmt.where(func.lower(Ticket.type) == f.type.lower())
        if f.updated_since is not None:
            stmt = stmt.where(Ticket.updated_at >= f.updated_since)
        if f.name:
            stmt = stmt.where(Ticket.name.icontains(f.name, autoescape=True))
        if f.active is not None:
            stmt = stmt.where(Ticket.active.is_(f.active))
        return stmt

    async def list_offset(
        self, connection_id: uuid.UUID, filters: TicketFilters, *, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """An offset page of ``READ_COLUMNS`` rows (by name) and the filtered total."""
        rows, total = await self.row_page(
            self._filtered(connection_id, filters).order_by(Ticket.id), limit=limit, offset=offset
        )
        return read_dicts(rows), total

    async def list_keyset(
        self, connection_id: uuid.UUID, filters: TicketFilters, *, limit: int, seek: Seek
    ) -> KeysetPage[dict[str, Any]]:
        """A keyset page of ``READ_COLUMNS`` rows (by name)."""
        stmt = self._filtered(connection_id, filters)
        # Unfiltered, a page is one range of the (connection_id, id) index; a filter may
        # make it scan.
        bounded = inline_reads() if filters == _NO_FILTERS else contextlib.nullcontext()
        with bounded:
            page = await keyset_page(
                self.session, stmt, Ticket.id, limit=limit, seek=seek, rows=True
            )
        return KeysetPage(read_dicts(page.items), page.next_after, page.previous_before)

    # -- vendor upsert -------------------------------------------------------------------------
    async def _links(
        self,
        connection_id: uuid.UUID,
        issues: Sequence[NormalizedIssue],
        cache: LinkCache,
        *,
        taken: bool = True,
    ) -> _Links:
        def wanted(values: Iterable[str | None]) -> list[str]:
            return sorted({v for v in values if v})

        keys = wanted(i.project_vendor_id for i in issues)
        accounts = wanted(
            v for i in issues for v in (i.assigned_user_vendor_id, i.created_by_vendor_id)
        )
        parent_keys = wanted(i.parent_ticket_vendor_id for i in issues)
        s, c = self.session, connection_id
        catalog = CatalogRepository(s)
        projects, types, users = cache.projects, cache.types, cache.users
        missing = [k for k in keys if k not in projects]
        if missing:
            projects.update(await catalog.project_ids_by_key(c, missing))
        pairs = {
            (projects[i.project_vendor_id], i.type_vendor_id)
            for i in issues
            if i.type_vendor_id and i.project_vendor_id in projects
        }
        if not pairs.issubset(types.keys()):
            found = await catalog.issue_type_ids(
                c, sorted({p for p, _ in pairs}), sorted({t for _, t in pairs})
            )
            types.update(found)
        missing = [a for a in accounts if a not in users]
        if missing:
            users.update(await catalog.user_ids_by_vendor_id(c, missing))
        # Core execution on the session's connection (same transaction): the ORM's
        # statement handling is not needed for columns.
        conn = await s.connection()
        parents: dict[str, uuid.UUID] = {}
        if parent_keys:
            rows4 = await conn.execute(_PARENT_HOLDERS, {"c": c, "keys": parent_keys})
            parents = {k: i for k, i in rows4}  # the latest holder of a key wins
        holders: dict[str, str] = {}
        if taken:
            values = wanted(v for i in issues for v in (i.vendor_key, i.identifier))
            rows5 = await conn.execute(_TAKEN_IDENTIFIERS, {"c": c, "values": values})
            holders = {k: v for k, v in rows5}
        return _Links(projects, types, users, parents, holders)

    def _row(
        self,
        connection_id: uuid.UUID,
        issue: NormalizedIssue,
        links: _Links,
        now: datetime,
        stored: Stored | None = None,
    ) -> dict[str, Any]:
        """The issue's row; its own columns from ``stored`` (``tickets.stored``) when given,
        else as Python objects."""
        if stored is None:
            stored = issue_values(issue)
        new_id, tags, due_date, created, closed, status_updated, vendor_updated, attrs = stored
        project_id = links.projects.get(issue.project_vendor_id or "")
        type_id = (
            links.types.get((project_id, issue.type_vendor_id))
            if project_id and issue.type_vendor_id
            else None
        )
        for candidate in (issue.identifier, issue.vendor_key):
            if candidate and links.taken.get(candidate) in (None, issue.vendor_id):
                identifier = candidate
                break
        else:  # neither is free: the row's own id, as text (rare: formatting it costs)
            # (on SQLite the id is already its stored form, the hex digits)
            identifier = str(new_id if isinstance(new_id, uuid.UUID) else uuid.UUID(new_id))
        # Two issues of one page may want the same value: the first one takes it.
        links.taken.setdefault(identifier, issue.vendor_id)
        return {
            "id": new_id,
            "connection_id": connection_id,
            "vendor_id": issue.vendor_id,
            "identifier": identifier,
            "vendor_key": issue.vendor_key,
            "name": issue.name,
            "description": issue.description,
            "status": issue.status,
            "priority": issue.priority,
            "type": issue.type,
            "type_id": type_id,
            "project_id": project_id,
            "parent_ticket_id": links.parents.get(issue.parent_ticket_vendor_id or ""),
            "assigned_user_id": links.users.get(issue.assigned_user_vendor_id or ""),
            "created_by_user_id": links.users.get(issue.created_by_vendor_id or ""),
            "project_vendor_id": issue.project_vendor_id,
            "assigned_user_vendor_id": issue.assigned_user_vendor_id,
            "parent_ticket_vendor_id": issue.parent_ticket_vendor_id,
            "url": issue.url,
            "active": True,
            "tags": tags,
            "due_date": due_date,
            "ticket_created_at": created,
            "closed_at": closed,
            "status_updated_at": status_updated,
            "vendor_updated_at": vendor_updated,
            "vendor_attributes": attrs,
            "created_at": now,
            "updated_at": now,
        }

    async def upsert_page(
        self,
        connection_id: uuid.UUID,
        issues: Sequence[NormalizedIssue],
        cache: LinkCache | None = None,
        stored: Sequence[Stored] | None = None,
    ) -> int:
        """Insert or update one page of vendor issues with one statement; returns the number
        of rows inserted or changed. UUID links are resolved against the store (``cache``
        keeps catalog ids across the pages of one run); a parent that is not stored yet
        stays unresolved until :meth:`resolve_parents`. ``stored``: the issues' own columns
        as :func:`~ticketbridge.tickets.stored.stored_page` made them for this session's
        dialect (the sync makes them in its helper process); made here when not given."""
        dialect = self.session.get_bind().dialect.name
        if stored is None:
            stored = stored_page(dialect, issues)
        # A repeat would abort PostgreSQL: the last one of a vendor id wins.
        unique = list({i.vendor_id: (i, s) for i, s in zip(issues, stored, strict=True)}.values())
        if not unique:
            return 0
        links = await self._links(connection_id, [i for i, _ in unique], cache or LinkCache())
        now = utcnow()  # one time for the page's rows, as for one transaction
        rows = [self._row(connection_id, i, links, now, s) for i, s in unique]
        return await upsert(
            self.session,
            Ticket.__table__,  # type: ignore[arg-type]
            rows,
            conflict=("connection_id", "vendor_id"),
            update=VENDOR_COLUMNS,
            always=("active", "updated_at"),
            revive=True,
            ready=ready_columns(dialect),
        )

    async def upsert_from_vendor(
        self, connection_id: uuid.UUID, issues: Sequence[NormalizedIssue]
    ) -> list[Ticket]:
        """:meth:`upsert_page`, then the stored tickets in the order of ``issues``."""
        await self.upsert_page(connection_id, issues)
        if not issues:
            return []
        children = [i.vendor_id for i in issues if i.parent_ticket_vendor_id]
        if children:
            await self.resolve_parents(connection_id, children)
        ids = [i.vendor_id for i in issues]
        found = await self.session.scalars(
            select(Ticket)
            .where(Ticket.connection_id == connection_id, Ticket.vendor_id.in_(ids))
            .execution_options(populate_existing=True)
        )
        by_vendor = {t.vendor_id: t for t in found}
        return [by_vendor[v] for v in dict.fromkeys(ids) if v in by_vendor]

    async def resolve_parents(
        self, connection_id: uuid.UUID, vendor_ids: Sequence[str] | None = None
    ) -> int:
        """Link children whose parent arrived after them (one UPDATE per sync run)."""
        parent = aliased(Ticket)
        parent_id = (
            select(parent.id)
            .where(
                parent.connection_id == Ticket.connection_id,
                parent.vendor_key == Ticket.parent_ticket_vendor_id,
            )
            .order_by(parent.vendor_updated_at.desc().nulls_last())
            .limit(1)
            .scalar_subquery()
        )
        stmt = (
            update(Ticket)
            .where(
                Ticket.connection_id == connection_id,
                Ticket.parent_ticket_vendor_id.is_not(None),
                Ticket.parent_ticket_id.is_(None),
                exists().where(
                    parent.connection_id == Ticket.connection_id,
                    parent.vendor_key == Ticket.parent_ticket_vendor_id,
                ),
            )
            .values(parent_ticket_id=parent_id, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if vendor_ids is not None:
            stmt = stmt.where(Ticket.vendor_id.in_(list(vendor_ids)))
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    # -- reconciliation ------------------------------------------------------------------------
    async def presence_page(
        self, connection_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> list[Presence]:
        """One keyset page of what reconciliation compares: id, vendor id, active, created."""
        stmt = (
            select(Ticket.id, Ticket.vendor_id, Ticket.active, Ticket.created_at)
            .where(Ticket.connection_id == connection_id)
            .order_by(Ticket.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(Ticket.id > after)
        return [Presence(*row) for row in await self.session.execute(stmt)]

    async def set_active(
        self, connection_id: uuid.UUID, ticket_ids: Sequence[uuid.UUID], *, active: bool
    ) -> int:
        """Flip ``active`` on those of ``ticket_ids`` that differ; returns how many changed."""
        if not ticket_ids:
            return 0
        result = await self.session.execute(
            update(Ticket)
            .where(
                Ticket.connection_id == connection_id,
                Ticket.id.in_(ticket_ids),
                Ticket.active.is_(not active),
            )
            .values(active=active, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def deactivate_all(self, connection_id: uuid.UUID, *, created_before: datetime) -> int:
        result = await self.session.execute(
            update(Ticket)
            .where(
                Ticket.connection_id == connection_id,
                Ticket.active.is_(True),
                Ticket.created_at < created_before,
            )
            .values(active=False, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- writes -------------------------------------------------------------------------------
    async def set_identifier(self, ticket: Ticket, identifier: str) -> Ticket:
        """Give a just-created ticket the caller's identifier (the upsert defaulted it to the
        vendor key); the caller checked it is free."""
        if ticket.identifier != identifier:
            ticket.identifier = identifier
            await self.session.flush()
        return ticket

    # -- bulk create ---------------------------------------------------------------------------
    async def insert_created(
        self,
        connection_id: uuid.UUID,
        issues: Sequence[NormalizedIssue],
        cache: LinkCache | None = None,
        *,
        free: bool = False,
        read_rows: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, tuple[uuid.UUID, str]]:
        """Store just-created issues (one INSERT per pass, no ORM objects), leaving a row that
        is already there as it is: the sync stored it first, from Jira's own view. Returns
        ``{vendor id: (ticket id, identifier)}`` for every issue, stored now or before.
        ``cache``: catalog ids the caller knows already (``LinkCache``).

        An identifier taken between the ``_links`` check and the insert skips that row; the
        next pass sees the new holder and stores the ticket under its fallback. ``free``: the
        caller checked the issues' identifiers are free (a single create, under its
        reservation): the first pass does not look the holders up (a holder that came since
        still only skips the row, and the next pass looks). ``read_rows`` receives the
        ``READ_COLUMNS`` rows (by name) of the rows inserted now, from the INSERT's
        ``RETURNING`` (no read-back); a row stored before is not in it."""
        pending = list({i.vendor_id: i for i in issues}.values())
        out: dict[str, tuple[uuid.UUID, str]] = {}
        returning = ("vendor_id", *READ_NAMES) if read_rows is not None else _CREATED_IDS
        for attempt in range(3 if free else 2):
            if not pending:
                break
            links = await self._links(
                connection_id, pending, cache or LinkCache(), taken=not (free and attempt == 0)
            )
            now = utcnow()
            rows = [self._row(connection_id, i, links, now) for i in pending]
            inserted = await insert_new(
                self.session,
                Ticket.__table__,  # type: ignore[arg-type]
                rows,
                returning=returning,
            )
            if read_rows is None:
                out.update({v: (i, ident) for v, i, ident in inserted})
            else:
                for vendor_id, *values in inserted:
                    row = dict(zip(READ_NAMES, values, strict=True))
                    read_rows[vendor_id] = row
                    out[vendor_id] = (row["id"], row["identifier"])
            missing = [i.vendor_id for i in pending if i.vendor_id not in out]
            if missing:
                found = await self.session.execute(
                    select(Ticket.vendor_id, Ticket.id, Ticket.identifier).where(
                        Ticket.connection_id == connection_id, Ticket.vendor_id.in_(missing)
                    )
                )
                out.update({v: (i, ident) for v, i, ident in found})
            pending = [i for i in pending if i.vendor_id not in out]
        return out

    async def identifier_holders(
        self, connection_id: uuid.UUID, identifiers: Sequence[str]
    ) -> dict[str, uuid.UUID]:
        """``{identifier: ticket id}`` of the identifiers some ticket holds."""
        if not identifiers:
            return {}
        rows = await self.session.execute(
            select(Ticket.identifier, Ticket.id).where(
                Ticket.connection_id == connection_id,
                Ticket.identifier.in_(list(dict.fromkeys(identifiers))),
            )
        )
        return {k: v for k, v in rows}

    async def set_identifiers(
        self, connection_id: uuid.UUID, identifiers: dict[uuid.UUID, str]
    ) -> None:
        """Give just-created tickets their identifiers (one executemany; the caller checked
        they are free)."""
        if not identifiers:
            return
        # The table, not the entity: an executemany with its own WHERE is a Core statement.
        table = Ticket.__table__
        assert isinstance(table, Table)
        stmt = (
            update(table)
            .where(table.c.connection_id == connection_id, table.c.id == bindparam("ticket_id"))
            .values(identifier=bindparam("new_identifier"), updated_at=utcnow())
        )
        await self.session.execute(
            stmt, [{"ticket_id": t, "new_identifier": i} for t, i in identifiers.items()]
        )
