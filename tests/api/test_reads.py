"""The seeded_synced read endpoints: tickets, projects, issue types and users, in offset and cursor
mode, over a store filled by a real sync of the emulator."""

from __future__ import annotations

import base64
import itertools
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update

from tests.fixtures.emulator import seed
from tests.fixtures.store import catalog, tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.connectors.base import NormalizedIssue
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Ticket, User
from ticketbridge.sync.service import run_sync
from ticketbridge.tickets.repository import TicketRepository

TICKETS = "/v1/itsm/tickets"


@pytest.fixture
async def seeded_synced(fake_site: Site, runtime: Runtime, tenant: Tenant) -> Tenant:
    """``tenant`` synced from a seeded site: 3 projects x 80 issues, 14 people."""
    seed(fake_site, projects=3, per_project=80, users=14)
    await run_sync(runtime, cid(tenant))
    return tenant


async def get(client: httpx.AsyncClient, tenant: Tenant, url: str, **params: Any) -> Any:
    r = await client.get(url, params=params, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def offset_walk(
    client: httpx.AsyncClient, tenant: Tenant, url: str, limit: int, **params: Any
) -> tuple[list[str], int]:
    ids: list[str] = []
    for offset in itertools.count(0, limit):
        body = await get(client, tenant, url, limit=limit, offset=offset, **params)
        assert (body["limit"], body["offset"]) == (limit, offset)
        ids += [i["id"] for i in body["items"]]
        if offset + limit >= body["total"]:
            return ids, body["total"]
    raise AssertionError("unreachable")


async def cursor_walk(
    client: httpx.AsyncClient, tenant: Tenant, url: str, limit: int, **params: Any
) -> list[dict[str, Any]]:
    """Every page of a forward cursor walk."""
    pages = [await get(client, tenant, url, limit=limit, enableCursor="true", **params)]
    while pages[-1]["next_cursor"]:
        pages.append(
            await get(client, tenant, url, limit=limit, cursor=pages[-1]["next_cursor"], **params)
        )
    return pages


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for p in pages for i in p["items"]]


def loc(response: httpx.Response) -> list[Any]:
    assert response.status_code == 422, response.text
    return [e["loc"] for e in response.json()["errors"]]


class TestTicketPages:
    async def test_offset_and_cursor_walks_return_the_same_items_once(
        self, client: httpx.AsyncClient, runtime: Runtime, seeded_synced: Tenant
    ) -> None:
        stored = await tickets_by_vendor_id(runtime, cid(seeded_synced))
        some = next(iter(stored.values()))
        filters: list[dict[str, Any]] = [
            {},
            {"status": "TODO"},
            {"project_id": str(some.project_id)},
            {"priority": "MEDIUM", "type": "story"},
            {"name": "the"},
        ]
        for params in filters:
            offset_ids, total = await offset_walk(client, seeded_synced, TICKETS, 17, **params)
            cursor_ids = ids_of(await cursor_walk(client, seeded_synced, TICKETS, 17, **params))
            assert offset_ids == cursor_ids, params
            assert len(set(offset_ids)) == len(offset_ids) == total > 0, params
            assert offset_ids == sorted(offset_ids, key=uuid.UUID)
        assert total < len(stored)

    async def test_previous_cursor_walks_back_to_the_start(
        self, client: httpx.AsyncClient, seeded_synced: Tenant
    ) -> None:
        forward = await cursor_walk(client, seeded_synced, TICKETS, 50)
        assert forward[0]["previous_cursor"] is None and forward[-1]["next_cursor"] is None
        backward = [forward[-1]]
        while backward[-1]["previous_cursor"]:
            backward.append(
                await get(
                    client, seeded_synced, TICKETS, limit=50, cursor=backward[-1]["previous_cursor"]
                )
            )
        assert [ids_of([p]) for p in reversed(backward)] == [ids_of([p]) for p in forward]
        assert len(ids_of(forward)) == 240

    async def test_a_deep_cursor_page_is_a_keyset_seek_not_an_offset(
        self, client: httpx.AsyncClient, runtime: Runtime, seeded_synced: Tenant
    ) -> None:
        pages = await cursor_walk(client, seeded_synced, TICKETS, 60)
        statements: list[str] = []

        def capture(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
            if "FROM tickets" in statement:
                # SQLite always renders "LIMIT ? OFFSET ?"; its offset must then be 0.
                if statement.rstrip().endswith("OFFSET ?"):
                    assert params[-1] == 0
                    statement = statement.rstrip().removesuffix("OFFSET ?")
                statements.append(statement)

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", capture)
        try:
            await get(client, seeded_synced, TICKETS, limit=60, cursor=pages[-2]["next_cursor"])
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", capture)
        page_sql = [s for s in statements if "LIMIT" in s.upper()]
        assert page_sql and all("OFFSET" not in s.upper() for s in page_sql)
        assert any("tickets.id >" in s for s in page_sql)
        assert not any("count(" in s.lower() for s in statements)

    async def test_items_are_ticket_reads(
        self, client: httpx.AsyncClient, fake_site: Site, seeded_synced: Tenant
    ) -> None:
        body = await get(client, seeded_synced, TICKETS, limit=1000)
        item = body["items"][0]
        issue = fake_site.get_issue(item["identifier"])
        assert item["name"] == issue.summary
        assert item["url"] == f"https://acme.atlassian.net/browse/{issue.key}"
        assert item["vendor_attributes"]["data"]["id"] == str(issue.id)
        assert set(item) >= {
            "id",
            "name",
            "description",
            "status",
            "priority",
            "type",
            "type_id",
            "active",
            "url",
            "identifier",
            "project_id",
            "parent_ticket_id",
            "assigned_user_id",
            "created_by_user_id",
            "project_vendor_id",
            "assigned_user_vendor_id",
            "parent_ticket_vendor_id",
            "ticket_created_at",
            "due_date",
            "closed_at",
            "status_updated_at",
            "tags",
            "vendor_attributes",
        }


class TestTicketFilters:
    async def test_each_filter_selects_exactly_the_matching_tickets(
        self, client: httpx.AsyncClient, runtime: Runtime, seeded_synced: Tenant
    ) -> None:
        stored = list((await tickets_by_vendor_id(runtime, cid(seeded_synced))).values())
        anyone = next(t for t in stored if t.assigned_user_id)
        cases: list[tuple[dict[str, Any], Any]] = [
            ({"status": "IN_PROGRESS"}, lambda t: t.status == "IN_PROGRESS"),
            ({"priority": "HIGH"}, lambda t: t.priority == "HIGH"),
            ({"project_id": str(anyone.project_id)}, lambda t: t.project_id == anyone.project_id),
            (
                {"assigned_user_id": str(anyone.assigned_user_id)},
                lambda t: t.assigned_user_id == anyone.assigned_user_id,
            ),
            ({"type": "SUB-TASK"}, lambda t: t.type == "Sub-task"),
            ({"name": "SAFARI"}, lambda t: "safari" in t.name.lower()),
            ({"name": "%"}, lambda t: "%" in t.name),  # LIKE wildcards are literal
            ({"active": "true"}, lambda t: t.active),
        ]
        for params, keep in cases:
            ids, total = await offset_walk(client, seeded_synced, TICKETS, 1000, **params)
            assert set(ids) == {str(t.id) for t in stored if keep(t)}, params
            assert total == len(ids)
        assert any(t.priority == "HIGH" for t in stored)

    async def test_active_false_lists_tickets_deleted_in_jira(
        self, client: httpx.AsyncClient, runtime: Runtime, seeded_synced: Tenant
    ) -> None:
        stored = await tickets_by_vendor_id(runtime, cid(seeded_synced))
        gone = list(stored.values())[:3]
        async with runtime.session() as s:
            await s.execute(
                update(Ticket).where(Ticket.id.in_([t.id for t in gone])).values(active=False)
            )

        ids, _ = await offset_walk(client, seeded_synced, TICKETS, 100, active="false")

        assert set(ids) == {str(t.id) for t in gone}

    async def test_updated_since_selects_recent_changes(
        self, client: httpx.AsyncClient, runtime: Runtime, seeded_synced: Tenant
    ) -> None:
        stored = list((await tickets_by_vendor_id(runtime, cid(seeded_synced))).values())
        recent = stored[:5]
        async with runtime.session() as s:
            await s.execute(update(Ticket).values(updated_at=utcnow() - timedelta(days=2)))
            await s.execute(
                update(Ticket)
                .where(Ticket.id.in_([t.id for t in recent]))
                .values(updated_at=utcnow())
            )
        since = (utcnow() - timedelta(days=1)).isoformat()

        ids, total = await offset_walk(client, seeded_synced, TICKETS, 100, updatedSince=since)

        assert (set(ids), total) == ({str(t.id) for t in recent}, 5)

    @pytest.mark.parametrize(
        "params",
        [
            {"enableCursor": "true", "updatedSince": "2024-01-01T00:00:00Z"},
            {
                "cursor": "eyJkIjoiYSIsImlkIjoiMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwIn0",
                "updatedSince": "2024-01-01T00:00:00Z",
            },
        ],
    )
    async def test_updated_since_with_a_cursor_is_422(
        self, client: httpx.AsyncClient, seeded_synced: Tenant, params: dict[str, str]
    ) -> None:
        r = await client.get(TICKETS, params=params, headers=seeded_synced.headers)
        assert loc(r) == [["query", "updatedSince"]]

    @pytest.mark.parametrize(
        "params,field",
        [
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"cursor": base64.urlsafe_b64encode(b'{"d":"x","id":"1"}').decode()}, "cursor"),
            ({"status": "DONE"}, "status"),
            ({"priority": "URGENT"}, "priority"),
            ({"project_id": "nope"}, "project_id"),
            ({"limit": "0"}, "limit"),
            ({"limit": "1001"}, "limit"),
            ({"offset": "-1"}, "offset"),
            ({"updatedSince": "yesterday"}, "updatedSince"),
        ],
    )
    async def test_invalid_parameters_are_422_naming_them(
        self, client: httpx.AsyncClient, seeded_synced: Tenant, params: dict[str, str], field: str
    ) -> None:
        r = await client.get(TICKETS, params=params, headers=seeded_synced.headers)
        assert loc(r) == [["query", field]]


class TestTicketGet:
    async def test_by_id_and_by_identifier(
        self, client: httpx.AsyncClient, seeded_synced: Tenant
    ) -> None:
        item = (await get(client, seeded_synced, TICKETS, limit=1))["items"][0]

        assert await get(client, seeded_synced, f"{TICKETS}/{item['id']}") == item
        assert (
            await get(client, seeded_synced, f"{TICKETS}/by-identifier/{item['identifier']}")
            == item
        )

    async def test_unknown_and_foreign_tickets_are_404(
        self, client: httpx.AsyncClient, seeded_synced: Tenant, other_tenant: Tenant
    ) -> None:
        item = (await get(client, seeded_synced, TICKETS, limit=1))["items"][0]
        urls = [f"{TICKETS}/{item['id']}", f"{TICKETS}/by-identifier/{item['identifier']}"]
        for url in urls:
            r = await client.get(url, headers=other_tenant.headers)
            assert (r.status_code, r.json()) == (404, {"detail": "ticket not found", "errors": []})
        for url in (f"{TICKETS}/{uuid.uuid4()}", f"{TICKETS}/by-identifier/NOPE-1"):
            r = await client.get(url, headers=seeded_synced.headers)
            assert (r.status_code, r.json()) == (404, {"detail": "ticket not found", "errors": []})
        r = await client.get(f"{TICKETS}/not-a-uuid", headers=seeded_synced.headers)
        assert loc(r) == [["path", "ticket_id"]]

    async def test_another_connection_sees_none_of_these_tickets(
        self, client: httpx.AsyncClient, seeded_synced: Tenant, other_tenant: Tenant
    ) -> None:
        body = await get(client, other_tenant, TICKETS)
        assert (body["items"], body["total"]) == ([], 0)


class TestCatalogReads:
    async def test_projects(
        self,
        client: httpx.AsyncClient,
        fake_site: Site,
        seeded_synced: Tenant,
        other_tenant: Tenant,
    ) -> None:
        body = await get(client, seeded_synced, "/v1/itsm/projects")
        assert body["total"] == 3
        assert {p["vendor_id"]: p["name"] for p in body["items"]} == {
            p.key: p.name for p in fake_site.projects.values()
        }
        cursor_ids = ids_of(await cursor_walk(client, seeded_synced, "/v1/itsm/projects", 2))
        assert cursor_ids == [p["id"] for p in body["items"]]
        one = body["items"][0]
        assert await get(client, seeded_synced, f"/v1/itsm/projects/{one['id']}") == one
        assert one["vendor_attributes"]["id"] == fake_site.find_project(one["key"]).id  # type: ignore[union-attr]
        r = await client.get(f"/v1/itsm/projects/{one['id']}", headers=other_tenant.headers)
        assert (r.status_code, r.json()) == (404, {"detail": "project not found", "errors": []})

    async def test_issue_types_by_project(
        self, client: httpx.AsyncClient, seeded_synced: Tenant
    ) -> None:
        projects = (await get(client, seeded_synced, "/v1/itsm/projects"))["items"]
        all_types = await get(client, seeded_synced, "/v1/itsm/issue-types")
        assert all_types["total"] == 15
        mine = await get(
            client, seeded_synced, "/v1/itsm/issue-types", project_id=projects[0]["id"]
        )
        assert {t["name"] for t in mine["items"]} == {"Task", "Sub-task", "Story", "Bug", "Epic"}
        assert {t["project_id"] for t in mine["items"]} == {projects[0]["id"]}
        cursor = await cursor_walk(
            client, seeded_synced, "/v1/itsm/issue-types", 4, project_id=projects[0]["id"]
        )
        assert ids_of(cursor) == [t["id"] for t in mine["items"]]

    async def test_user_filters(
        self, client: httpx.AsyncClient, runtime: Runtime, fake_site: Site, seeded_synced: Tenant
    ) -> None:
        users = {
            u.vendor_id: u for u in (await catalog(runtime, cid(seeded_synced))).users.values()
        }
        url = "/v1/itsm/users"
        everyone = await get(client, seeded_synced, url, limit=1000)
        assert everyone["total"] == len(users)
        item = everyone["items"][0]
        assert item["vendor_attributes"]["data"] == {"vendor": "JIRA", "accountType": "atlassian"}
        assert await get(client, seeded_synced, f"{url}/{item['id']}") == item

        inactive = await get(client, seeded_synced, url, status="INACTIVE")
        assert {u["vendor_id"] for u in inactive["items"]} == {
            v for v in users if not fake_site.users[v].active
        }
        assert inactive["total"] > 0

        someone = next(u for u in users.values() if u.email)
        found = await get(client, seeded_synced, url, email=someone.email.upper())  # type: ignore[union-attr]
        assert [u["vendor_id"] for u in found["items"]] == [someone.vendor_id]

        part = (someone.name or "")[1:4].lower()
        by_name = await get(client, seeded_synced, url, name=part, limit=1000)
        assert {u["vendor_id"] for u in by_name["items"]} == {
            v for v, u in users.items() if u.name and part in u.name.lower()
        }

        project = (await get(client, seeded_synced, "/v1/itsm/projects"))["items"][0]
        members = await get(client, seeded_synced, url, projectId=project["id"], limit=1000)
        assert {u["vendor_id"] for u in members["items"]} == {
            v for v in users if fake_site.users[v].active
        }

        async with runtime.session() as s:
            await s.execute(update(User).values(updated_at=utcnow() - timedelta(days=3)))
            await s.execute(
                update(User).where(User.vendor_id == someone.vendor_id).values(updated_at=utcnow())
            )
        since = (utcnow() - timedelta(days=1)).isoformat()
        recent = await get(client, seeded_synced, url, updatedSince=since)
        assert [u["vendor_id"] for u in recent["items"]] == [someone.vendor_id]
        r = await client.get(
            url,
            params={"updatedSince": since, "enableCursor": "true"},
            headers=seeded_synced.headers,
        )
        assert loc(r) == [["query", "updatedSince"]]
        r = await client.get(url, params={"status": "GONE"}, headers=seeded_synced.headers)
        assert loc(r) == [["query", "status"]]

    async def test_unknown_user_and_project_are_404(
        self, client: httpx.AsyncClient, seeded_synced: Tenant
    ) -> None:
        for kind in ("user", "project"):
            r = await client.get(f"/v1/itsm/{kind}s/{uuid.uuid4()}", headers=seeded_synced.headers)
            assert (r.status_code, r.json()) == (404, {"detail": f"{kind} not found", "errors": []})

    async def test_a_user_no_longer_assignable_leaves_the_project_but_stays_listed(
        self, client: httpx.AsyncClient, runtime: Runtime, fake_site: Site, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=1, per_project=2, users=4)
        await run_sync(runtime, cid(tenant))
        project = (await get(client, tenant, "/v1/itsm/projects"))["items"][0]
        members = await get(client, tenant, "/v1/itsm/users", projectId=project["id"])
        admin = fake_site.user_by_email("admin@example.com")
        assert admin is not None
        # Anyone but the connection's own account (deactivating it would refuse the sync).
        leaving = next(u for u in members["items"] if u["vendor_id"] != admin.account_id)
        fake_site.users[leaving["vendor_id"]].active = False  # Jira: no longer assignable

        await run_sync(runtime, cid(tenant))

        after = await get(client, tenant, "/v1/itsm/users", projectId=project["id"])
        assert [u["id"] for u in after["items"]] == [
            u["id"] for u in members["items"] if u["id"] != leaving["id"]
        ]
        assert (await get(client, tenant, f"/v1/itsm/users/{leaving['id']}"))["id"] == leaving["id"]


def synthetic(token: str, n: int) -> NormalizedIssue:
    return NormalizedIssue(
        vendor_id=f"{token}-{n}",
        vendor_key=f"{token.upper()}-{n}",
        name=f"{token} {n}",
        description=None,
        status="TODO",
        priority="LOW",
        type="Task",
        type_vendor_id=None,
        project_vendor_id=None,
        project_vendor_numeric_id=None,
        assigned_user_vendor_id=None,
        created_by_vendor_id=None,
        parent_ticket_vendor_id=None,
        url=None,
        tags=(),
        due_date=None,
        ticket_created_at=None,
        status_updated_at=None,
        closed_at=None,
        vendor_updated_at=None,
        status_category="new",
        vendor_status_name="To Do",
        vendor_priority_name="Low",
    )


@pytest.mark.slow
class TestCursorUnderInserts:
    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        initial=st.integers(0, 30),
        limit=st.integers(1, 8),
        inserts=st.lists(st.integers(0, 5), max_size=15),
    )
    async def test_no_item_twice_and_none_of_the_start_missed(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        tenant: Tenant,
        initial: int,
        limit: int,
        inserts: list[int],
    ) -> None:
        token = f"w{uuid.uuid4().hex[:10]}"  # each example walks its own tickets
        counter = itertools.count()

        async def insert(count: int) -> None:
            async with runtime.session() as s:
                await TicketRepository(s).upsert_from_vendor(
                    cid(tenant), [synthetic(token, next(counter)) for _ in range(count)]
                )

        await insert(initial)
        at_start = {
            str(t.id)
            for t in (await tickets_by_vendor_id(runtime, cid(tenant))).values()
            if t.name.startswith(token)
        }
        seen: list[str] = []
        body = await get(client, tenant, TICKETS, limit=limit, enableCursor="true", name=token)
        steps = iter(inserts)
        while True:
            seen += [i["id"] for i in body["items"]]
            await insert(next(steps, 0))
            if not body["next_cursor"]:
                break
            body = await get(
                client, tenant, TICKETS, limit=limit, cursor=body["next_cursor"], name=token
            )

        assert len(seen) == len(set(seen))
        assert at_start <= set(seen)
