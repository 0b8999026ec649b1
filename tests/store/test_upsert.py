"""store/upsert.py: the page upsert's counts, stored values and cache bumps on both backends,
and on SQLite the driver-level ``executemany`` path storing exactly what SQLAlchemy's own
statement stores."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, update

from tests.fixtures.tenants import Tenant, cid
from ticketbridge.connectors import NormalizedIssue
from ticketbridge.offload import Offload
from ticketbridge.runtime import Runtime
from ticketbridge.store import changes
from ticketbridge.store.models import Ticket
from ticketbridge.store.upsert import _upsert_statement, dialect_name
from ticketbridge.tickets.repository import VENDOR_COLUMNS, TicketRepository
from ticketbridge.tickets.stored import stored_page

T0 = datetime(2024, 1, 31, 12, 34, 56, 789000, tzinfo=UTC)


def issue(n: int, **over: Any) -> NormalizedIssue:
    base = NormalizedIssue(
        vendor_id=f"9{n:04d}",
        vendor_key=f"UPS-{n}",
        name=f"upsert {n}",
        description=f"**line** {n}\n\n- item",
        status="TODO",
        priority="LOW",
        type="Task",
        type_vendor_id=None,
        project_vendor_id=None,
        project_vendor_numeric_id=None,
        assigned_user_vendor_id=None,
        created_by_vendor_id=None,
        parent_ticket_vendor_id=None,
        url=f"https://acme.atlassian.net/browse/UPS-{n}",
        tags=("a", "ü"),
        due_date=date(2024, 2, n % 28 + 1),
        ticket_created_at=T0,
        status_updated_at=T0 + timedelta(seconds=n),
        closed_at=None,
        vendor_updated_at=T0 + timedelta(minutes=n),
        status_category="new",
        vendor_status_name="To Do",
        vendor_priority_name="Low",
        custom_fields={"customfield_1": {"value": n}},
    )
    return dataclasses.replace(base, **over)


async def upsert_page(runtime: Runtime, connection_id: uuid.UUID, issues: list[Any]) -> int:
    async with runtime.session() as s:
        return await TicketRepository(s).upsert_page(connection_id, issues)


async def stored(runtime: Runtime, connection_id: uuid.UUID) -> dict[str, Ticket]:
    async with runtime.session() as s:
        rows = await s.scalars(select(Ticket).where(Ticket.connection_id == connection_id))
        return {t.vendor_id: t for t in rows}


class TestPageUpsert:
    async def test_counts_only_rows_inserted_or_changed(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        c = cid(tenant)
        page = [issue(n) for n in range(1, 6)]
        assert await upsert_page(runtime, c, page) == 5
        assert await upsert_page(runtime, c, page) == 0  # unchanged: nothing rewritten
        page[2] = dataclasses.replace(page[2], name="renamed")
        assert await upsert_page(runtime, c, page) == 1
        async with runtime.session() as s:
            await s.execute(
                update(Ticket).where(Ticket.vendor_id == page[0].vendor_id).values(active=False)
            )
        assert await upsert_page(runtime, c, page) == 1  # an inactive row comes back
        tickets = await stored(runtime, c)
        assert tickets[page[0].vendor_id].active is True
        assert tickets[page[2].vendor_id].name == "renamed"

    async def test_values_read_back_as_written(self, runtime: Runtime, tenant: Tenant) -> None:
        c = cid(tenant)
        plus_two = timezone(timedelta(hours=2))
        odd = issue(
            7,
            ticket_created_at=datetime(2024, 5, 1, 10, 0, 0, tzinfo=plus_two),  # no micros
            closed_at=datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
            description=None,
            tags=(),
            due_date=None,
        )
        await upsert_page(runtime, c, [issue(1), odd])
        tickets = await stored(runtime, c)
        one, seven = tickets[issue(1).vendor_id], tickets[odd.vendor_id]
        assert one.ticket_created_at == T0
        assert one.status_updated_at == T0 + timedelta(seconds=1)
        assert one.vendor_updated_at == T0 + timedelta(minutes=1)
        assert one.due_date == date(2024, 2, 2)
        assert one.tags == ["a", "ü"]
        assert one.description == "**line** 1\n\n- item"
        assert one.vendor_attributes["data"]["customFields"] == {"customfield_1": {"value": 1}}
        assert one.connection_id == c and one.active is True
        assert seven.ticket_created_at == datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
        assert seven.closed_at == datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
        assert seven.description is None and seven.tags == [] and seven.due_date is None

    async def test_a_committed_page_bumps_the_tickets_table(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        before = changes.version(["tickets"])
        await upsert_page(runtime, cid(tenant), [issue(1)])
        assert changes.version(["tickets"]) > before


class TestSqliteDriverPath:
    async def test_stores_what_sqlalchemys_statement_stores(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        """Each column's stored form (text, as SQLite keeps it) is the same whichever path
        wrote the row; on PostgreSQL both rows come from SQLAlchemy, and must agree too."""
        c = cid(tenant)
        plus_two = timezone(timedelta(hours=2))
        mine = issue(1, closed_at=datetime(2024, 5, 1, 10, 0, tzinfo=plus_two))
        await upsert_page(runtime, c, [mine])
        async with runtime.session() as s:
            raw_mine = (
                (await s.execute(select(Ticket.__table__).where(Ticket.vendor_id == "90001")))
                .mappings()
                .one()
            )
            theirs = dict(raw_mine)
            theirs.update(id=uuid.uuid4(), vendor_id="other", identifier="OTHER-1")
            stmt = _upsert_statement(
                dialect_name(s),
                Ticket.__table__,
                ("connection_id", "vendor_id"),
                VENDOR_COLUMNS,
                ("active", "updated_at"),
                True,
            )
            await s.execute(stmt, [theirs])
            await s.commit()
        async with runtime.session() as s:
            connection = await s.connection()
            columns = [col.name for col in Ticket.__table__.columns]
            text = "SELECT " + ", ".join(
                f"CAST({n} AS TEXT)" if n != "vendor_attributes" else n for n in columns
            )
            got = {
                row[columns.index("vendor_id")]: row
                for row in (
                    await connection.exec_driver_sql(
                        text + " FROM tickets WHERE vendor_id IN ('90001', 'other')"
                    )
                ).all()
            }
        skip = {"id", "vendor_id", "identifier"}
        for n, name in enumerate(columns):
            if name not in skip:
                assert got["90001"][n] == got["other"][n], name


class TestStoredForm:
    """A page's rows made ready in the sync's helper process (``tickets.stored``)."""

    async def test_made_in_the_helper_process_as_here(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        issues = [issue(1, closed_at=T0), issue(2, custom_fields={"x": [1.5, None, "é"]})]
        dialect = runtime.engine.dialect.name
        helper = Offload(preload=["ticketbridge.tickets.stored"])
        try:
            there = await helper.run(stored_page, dialect, issues)
            assert helper.worker_pids()  # it did run in the helper
        finally:
            await helper.aclose()
        here = stored_page(dialect, issues)
        # Everything but the new rows' ids (fresh each time) is the same value.
        assert [row[1:] for row in there] == [row[1:] for row in here]
        c = cid(tenant)
        async with runtime.session() as s:
            assert await TicketRepository(s).upsert_page(c, issues, stored=there) == 2
            await s.commit()
        rows = await stored(runtime, c)
        assert rows["90002"].vendor_attributes["data"]["customFields"] == {"x": [1.5, None, "é"]}
        assert (rows["90001"].closed_at, rows["90001"].tags) == (T0, ["a", "ü"])

    async def test_an_identifier_neither_free_is_the_rows_own_id(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        c = cid(tenant)
        await upsert_page(runtime, c, [issue(1), issue(2, identifier="UPS-1", vendor_key="UPS-1")])
        rows = await stored(runtime, c)
        # UPS-1 (the identifier it asks for, then its key) is the first issue's.
        assert rows["90002"].identifier == str(rows["90002"].id)
