"""The behaviour every vendor shares, run once per vendor (Jira, ServiceNow) and per database:
create by vendor ids and by synced UUIDs, update with a status change, bulk sync and async
with per-item results, bulk update, passthrough search with cursors, sync with deletions,
isolation between accounts, Idempotency-Key replays.

A :class:`VendorCase` says what differs: how a connection is made, the least a create needs,
the search parameter, and how the test reads and deletes at the emulator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fixtures.jobs import wait_job
from tests.fixtures.tenants import Tenant, cid, make_tenant
from tests.servicenow.conftest import People, make_snow_tenant
from ticketbridge.fakejira import Site
from ticketbridge.fakeservicenow import Instance
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync

TICKETS = "/v1/itsm/tickets"
SEARCH = "/v1/itsm/passthrough/tickets/search"


@dataclass
class VendorCase:
    name: str
    make: Callable[[httpx.AsyncClient, Runtime, str], Awaitable[Tenant]]
    create_body: dict[str, Any]  # what a create needs besides its name
    search: dict[str, str]  # every ticket of the connection, oldest first
    count: Callable[[], int]  # records at the vendor
    delete: Callable[[str], None]  # by vendor id


@pytest.fixture(params=["JIRA", "SERVICENOW"])
def vendor(
    request: pytest.FixtureRequest,
    fake_site: Site,
    fake_instance: Instance,
    people: People,
    no_settle_delay: None,
) -> VendorCase:
    if request.param == "JIRA":

        def delete_issue(vendor_id: str) -> None:
            fake_site.delete_issue(fake_site.get_issue(vendor_id))

        return VendorCase(
            "JIRA",
            lambda client, runtime, account: make_tenant(client, runtime, account),
            {"project_vendor_id": "DEMO", "type": "Task"},
            {"jql": "project = DEMO ORDER BY key ASC"},
            fake_site.issues_count,
            delete_issue,
        )
    return VendorCase(
        "SERVICENOW",
        lambda client, runtime, account: make_snow_tenant(client, runtime, account),
        {},
        {"query": "ORDERBYnumber"},
        lambda: len(list(fake_instance.rows("incident"))),
        lambda vendor_id: fake_instance.delete("incident", vendor_id),
    )


@pytest.fixture
async def tenant_of(vendor: VendorCase, client: httpx.AsyncClient, runtime: Runtime) -> Tenant:
    return await vendor.make(client, runtime, "acme")


async def create(
    client: httpx.AsyncClient, tenant: Tenant, vendor: VendorCase, **body: Any
) -> dict[str, Any]:
    r = await client.post(
        TICKETS, json={"name": "Shared", **vendor.create_body, **body}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


class TestWrites:
    async def test_create_by_vendor_ids_and_read_by_identifier(
        self, client: httpx.AsyncClient, tenant_of: Tenant, vendor: VendorCase
    ) -> None:
        ticket = await create(client, tenant_of, vendor, identifier="SHARED-1", priority="HIGH")
        assert vendor.count() == 1
        assert ticket["vendor_attributes"]["vendor"] == vendor.name
        assert ticket["priority"] == "HIGH"
        r = await client.get(f"{TICKETS}/by-identifier/SHARED-1", headers=tenant_of.headers)
        assert r.status_code == 200 and r.json()["id"] == ticket["id"]
        r = await client.post(
            TICKETS,
            json={"name": "Again", **vendor.create_body, "identifier": "SHARED-1"},
            headers=tenant_of.headers,
        )
        assert r.status_code == 409 and vendor.count() == 1

    async def test_update_with_a_status_change(
        self, client: httpx.AsyncClient, tenant_of: Tenant, vendor: VendorCase
    ) -> None:
        ticket = await create(client, tenant_of, vendor)
        r = await client.patch(
            f"{TICKETS}/{ticket['id']}",
            json={"name": "Renamed", "status": "IN_PROGRESS"},
            headers=tenant_of.headers,
        )
        assert r.status_code == 200, r.text
        assert (r.json()["name"], r.json()["status"]) == ("Renamed", "IN_PROGRESS")
        r = await client.patch(
            f"{TICKETS}/{ticket['id']}", json={"status": "CLOSED"}, headers=tenant_of.headers
        )
        assert r.status_code == 200 and r.json()["status"] == "CLOSED"

    async def test_create_by_synced_uuids(
        self,
        client: httpx.AsyncClient,
        tenant_of: Tenant,
        vendor: VendorCase,
        runtime: Runtime,
    ) -> None:
        parent = await create(client, tenant_of, vendor, name="Parent")
        await run_sync(runtime, cid(tenant_of), full=True)
        users = (await client.get("/v1/itsm/users", headers=tenant_of.headers)).json()["items"]
        assert users
        child = await create(
            client,
            tenant_of,
            vendor,
            name="Child",
            assigned_user_id=users[0]["id"],
            **({} if vendor.name == "JIRA" else {"parent_ticket_id": parent["id"]}),
        )
        assert child["assigned_user_id"] == users[0]["id"]
        if vendor.name != "JIRA":  # a Jira Task has no parent; ServiceNow's parent_incident
            assert child["parent_ticket_id"] == parent["id"]


class TestBulk:
    async def test_sync_and_async_bulk_create_with_per_item_results(
        self, client: httpx.AsyncClient, tenant_of: Tenant, vendor: VendorCase
    ) -> None:
        items = [{"name": f"B{i}", **vendor.create_body} for i in range(3)] + [{"name": ""}]
        r = await client.post(
            f"{TICKETS}/bulk/sync", json={"tickets": items}, headers=tenant_of.headers
        )
        body = r.json()
        assert (body["succeeded"], body["failed"]) == (3, 1)
        assert [x["request_index"] for x in body["results"]] == [0, 1, 2, 3]
        r = await client.post(f"{TICKETS}/bulk", json={"tickets": items}, headers=tenant_of.headers)
        job = await wait_job(client, tenant_of, r.json()["job_id"])
        assert [x["success"] for x in job["failure_reason"]["results"]] == [True] * 3 + [False]
        assert vendor.count() == 6

    async def test_bulk_update(
        self, client: httpx.AsyncClient, tenant_of: Tenant, vendor: VendorCase
    ) -> None:
        tickets = [await create(client, tenant_of, vendor, name=f"U{i}") for i in range(2)]
        r = await client.post(
            f"{TICKETS}/bulk/update",
            json={"ticket_ids": [t["id"] for t in tickets], "updates": {"status": "CLOSED"}},
            headers=tenant_of.headers,
        )
        job = await wait_job(client, tenant_of, r.json()["job_id"])
        assert job["status"] == "SUCCESS", job
        for t in tickets:
            stored = (await client.get(f"{TICKETS}/{t['id']}", headers=tenant_of.headers)).json()
            assert stored["status"] == "CLOSED"


class TestReads:
    async def test_passthrough_search_pages_with_cursors(
        self, client: httpx.AsyncClient, tenant_of: Tenant, vendor: VendorCase
    ) -> None:
        made = [await create(client, tenant_of, vendor, name=f"S{i}") for i in range(5)]
        keys: list[str] = []
        params: dict[str, str] = {**vendor.search, "limit": "2"}
        while True:
            r = await client.get(SEARCH, params=params, headers=tenant_of.headers)
            assert r.status_code == 200, r.text
            keys += [item["key"] for item in r.json()["items"]]
            if not r.json()["next_cursor"]:
                break
            params["cursor"] = r.json()["next_cursor"]
        assert keys == [t["vendor_attributes"]["data"]["key"] for t in made]

    async def test_sync_marks_deleted_records_inactive(
        self,
        client: httpx.AsyncClient,
        tenant_of: Tenant,
        vendor: VendorCase,
        runtime: Runtime,
    ) -> None:
        kept, gone = [await create(client, tenant_of, vendor, name=n) for n in ("kept", "gone")]
        vendor.delete(gone["vendor_attributes"]["id"])
        result = await run_sync(runtime, cid(tenant_of), full=True)
        assert result.deactivated == 1
        inactive = (
            await client.get(TICKETS, params={"active": "false"}, headers=tenant_of.headers)
        ).json()["items"]
        assert [t["id"] for t in inactive] == [gone["id"]]
        r = await client.get(f"{TICKETS}/{kept['id']}", headers=tenant_of.headers)
        assert r.json()["active"] is True

    async def test_accounts_are_isolated(
        self,
        client: httpx.AsyncClient,
        tenant_of: Tenant,
        vendor: VendorCase,
        runtime: Runtime,
    ) -> None:
        other = await vendor.make(client, runtime, "globex")
        mine = await create(client, tenant_of, vendor)
        r = await client.get(f"{TICKETS}/{mine['id']}", headers=other.headers)
        assert r.status_code == 404
        r = await client.patch(f"{TICKETS}/{mine['id']}", json={"name": "x"}, headers=other.headers)
        assert r.status_code == 404

    async def test_idempotency_key_replays(
        self, client: httpx.AsyncClient, tenant_of: Tenant, vendor: VendorCase
    ) -> None:
        headers = {**tenant_of.headers, "Idempotency-Key": f"shared-{vendor.name}"}
        body = {"name": "Once", **vendor.create_body}
        first = await client.post(TICKETS, json=body, headers=headers)
        second = await client.post(TICKETS, json=body, headers=headers)
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json() and vendor.count() == 1
