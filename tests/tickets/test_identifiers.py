"""When a create asks Jira whether its identifier is taken (tickets/identifiers.py): only
where the store cannot vouch for it, and then a duplicate is still a 409 before Jira is
asked to create anything."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx

from tests.fixtures.jobs import wait_job
from tests.fixtures.service import RecordingSleep
from tests.fixtures.store import stored
from tests.fixtures.tenants import Tenant, cid
from tests.fixtures.tickets import CREATE, GET, SEARCH, calls, create, created
from ticketbridge.connectors.jira.markers import marker_label
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Connection, IdempotencyKey
from ticketbridge.tickets.identifiers import journal_bulk, settle_bulk
from ticketbridge.tickets.service import IDENTIFIER_ROUTE

BULK_CREATE = "POST /rest/api/3/issue/bulk"


async def hold(
    runtime: Runtime, tenant: Tenant, identifier: str, created_at: datetime, expires_at: datetime
) -> None:
    """An identifier reservation held by a single create (IN_PROGRESS, lease as given)."""
    [conn] = await stored(runtime, Connection, id=cid(tenant))
    async with runtime.session() as s:
        s.add(
            IdempotencyKey(
                account_id=conn.account_id,
                connection_id=conn.id,
                route=IDENTIFIER_ROUTE,
                key=identifier,
                request_hash="reservation",
                status="IN_PROGRESS",
                response_body={},
                created_at=created_at,
                expires_at=expires_at,
            )
        )


def reservations(rows: list[IdempotencyKey]) -> list[tuple[str, str]]:
    return [(r.key, r.status) for r in rows if r.route == IDENTIFIER_ROUTE]


class TestTheStoreVouches:
    async def test_a_journaled_connection_creates_without_a_search(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        await created(client, tenant, identifier="ALERT-1")
        again = await create(client, tenant, identifier="ALERT-1")
        assert again.status_code == 409
        assert "ALERT-1" in again.json()["detail"]
        assert calls(ops_site, SEARCH) == 0
        assert calls(ops_site, CREATE) == 1
        assert await stored(runtime, IdempotencyKey) == []  # the reservation went with the commit

    async def test_a_refused_create_releases_its_identifier(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        refused = await create(
            client, tenant, identifier="ALERT-2", custom_fields={"customfield_10016": "many"}
        )
        assert refused.status_code == 422  # Jira's 400: nothing was created
        assert reservations(await stored(runtime, IdempotencyKey)) == []
        await created(client, tenant, identifier="ALERT-2")
        assert calls(ops_site, SEARCH) == 0
        assert ops_site.issues_count() == 1


class TestTheStoreCannotVouch:
    async def test_a_create_that_failed_after_reaching_jira_is_409_on_retry(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        runtime: Runtime,
        retry_sleep: RecordingSleep,
    ) -> None:
        # The issue is created, but its read-back (a create with a status reads the issue to
        # walk it) keeps failing: nothing is stored.
        ops_site.faults.configure({"error_rate": {"share": 1.0, "status": 503, "routes": [GET]}})
        failed = await create(client, tenant, identifier="ALERT-3", status="IN_PROGRESS")
        assert failed.status_code == 503
        assert ops_site.issues_count() == 1
        assert reservations(await stored(runtime, IdempotencyKey)) == [("ALERT-3", "UNSETTLED")]
        ops_site.faults.configure({})
        retry = await create(client, tenant, identifier="ALERT-3")
        assert retry.status_code == 409
        assert "DEMO-1" in retry.json()["detail"]
        assert calls(ops_site, SEARCH) == 1  # the check the kept reservation asked for
        assert calls(ops_site, CREATE) == 1
        assert ops_site.issues_count() == 1
        # Still unsettled: the next attempt checks Jira again.
        assert reservations(await stored(runtime, IdempotencyKey)) == [("ALERT-3", "UNSETTLED")]

    async def test_a_crashed_holders_reservation_makes_the_next_create_search(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        # A process died after its POST /issue: Jira has the issue (with the identifier's
        # marker), the store has only the reservation, whose lease has run out.
        marker = marker_label(str(cid(tenant)), "ALERT-4")
        issue = ops_site.create_issue(
            {
                "fields": {
                    "project": {"key": "DEMO"},
                    "issuetype": {"id": "10001"},
                    "summary": "created before the crash",
                    "labels": [marker],
                }
            }
        )
        now = utcnow()
        await hold(
            runtime, tenant, "ALERT-4", now - timedelta(minutes=10), now - timedelta(minutes=5)
        )
        retry = await create(client, tenant, identifier="ALERT-4")
        assert retry.status_code == 409
        assert issue.key in retry.json()["detail"]
        assert calls(ops_site, CREATE) == 0
        assert ops_site.issues_count() == 1

    async def test_after_bulk_creates_single_creates_need_no_search(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        item = {"name": "b", "project_vendor_id": "DEMO", "type_vendor_id": "10001"}
        bulk = await client.post(
            "/v1/itsm/tickets/bulk/sync",
            json={"tickets": [{**item, "identifier": "BULK-1"}, item]},
            headers=tenant.headers,
        )
        assert bulk.status_code == 200 and bulk.json()["succeeded"] == 2
        job = await client.post(
            "/v1/itsm/tickets/bulk",
            json={"tickets": [{**item, "identifier": "JOB-1"}, item]},
            headers=tenant.headers,
        )
        assert (await wait_job(client, tenant, job.json()["job_id"]))["status"] == "SUCCESS"
        # Every bulk item settled (stored): the journal keeps nothing, marks nothing.
        assert await stored(runtime, IdempotencyKey) == []
        searches = calls(ops_site, SEARCH)

        await created(client, tenant, identifier="ALERT-5")
        for taken in ("BULK-1", "JOB-1"):  # the store knows them: 409 without asking Jira
            again = await create(client, tenant, identifier=taken)
            assert again.status_code == 409, again.text
        assert calls(ops_site, SEARCH) == searches
        assert ops_site.issues_count() == 5

    async def test_a_bulk_item_jira_may_hold_makes_the_single_create_search(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        # Every bulk call fails without an answer: the items may exist in Jira (its search
        # index may lag), so their journal rows stay UNSETTLED.
        ops_site.faults.configure(
            {"error_rate": {"share": 1.0, "status": 503, "routes": [BULK_CREATE]}}
        )
        item = {"name": "b", "project_vendor_id": "DEMO", "type_vendor_id": "10001"}
        bulk = await client.post(
            "/v1/itsm/tickets/bulk/sync",
            json={"tickets": [{**item, "identifier": "BULK-2"}, item]},
            headers=tenant.headers,
        )
        assert bulk.json()["failed"] == 2
        # The generated identifier is reported with the failure: it is journaled too.
        generated = bulk.json()["results"][1]["identifier"]
        assert sorted(reservations(await stored(runtime, IdempotencyKey))) == sorted(
            [("BULK-2", "UNSETTLED"), (generated, "UNSETTLED")]
        )
        ops_site.faults.configure({})
        searches = calls(ops_site, SEARCH)

        await created(client, tenant, identifier="BULK-2")
        assert calls(ops_site, SEARCH) == searches + 1  # Jira asked: not there, created
        await created(client, tenant, identifier=generated)
        assert calls(ops_site, SEARCH) == searches + 2
        await created(client, tenant, identifier="OTHER-1")
        assert calls(ops_site, SEARCH) == searches + 2  # a journaled identifier: not asked
        assert await stored(runtime, IdempotencyKey) == []

    async def test_a_single_create_waits_for_a_running_bulk_of_its_identifier(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        # The bulk request's journal row, as it is while the request runs.
        async with runtime.session() as s:
            [conn] = await stored(runtime, Connection, id=cid(tenant))
            held = await journal_bulk(s, conn, ["BULK-3"], tag="bulk-sync:test", running=True)
            await s.commit()
        assert held == set()
        waiting = asyncio.create_task(create(client, tenant, identifier="BULK-3"))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # it waits for the bulk request, it does not create
        async with runtime.session() as s:
            await settle_bulk(s, conn.account_id, conn.id, "bulk-sync:test", {"BULK-3": True})
            await s.commit()
        answer = await waiting
        assert answer.status_code == 200, answer.text
        assert ops_site.issues_count() == 1

    async def test_a_bulk_item_of_an_identifier_a_single_create_holds_is_not_sent(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        now = utcnow()
        await hold(runtime, tenant, "HELD-1", now, now + timedelta(minutes=5))
        item = {"name": "b", "project_vendor_id": "DEMO", "type_vendor_id": "10001"}
        bulk = await client.post(
            "/v1/itsm/tickets/bulk/sync",
            json={"tickets": [{**item, "identifier": "HELD-1"}, item]},
            headers=tenant.headers,
        )
        held, free = bulk.json()["results"]
        assert held["success"] is False and "being created" in held["error"]
        assert free["success"] is True
        assert ops_site.issues_count() == 1
        # The single create's reservation is its own: the bulk request left it as it was.
        assert reservations(await stored(runtime, IdempotencyKey)) == [("HELD-1", "IN_PROGRESS")]
