"""Bulk writes on a ServiceNow connection: one Batch API call per chunk, per-item results in
request order, exactly once across ambiguous failures (by the correlation marker)."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.jobs import wait_job
from tests.fixtures.servicenow import servicenow_calls
from tests.fixtures.store import tickets_of
from tests.fixtures.tenants import Tenant
from tests.servicenow.conftest import (
    BATCH,
    CREATE,
    TICKETS,
    People,
    bulk_sync,
    created,
    incident,
    incidents,
)
from ticketbridge.fakeservicenow import Instance
from ticketbridge.runtime import Runtime


@pytest.fixture(autouse=True)
def _no_settle(no_settle_delay: None) -> None:
    """The emulator reads its writes at once: no wait before a marker search."""


class TestBulkSync:
    async def test_per_item_results_in_request_order_from_one_batch(
        self,
        client: httpx.AsyncClient,
        snow: Tenant,
        fake_instance: Instance,
        people: People,
        runtime: Runtime,
    ) -> None:
        body = await bulk_sync(
            client,
            snow,
            [
                {"name": "One", "priority": "LOW", "identifier": "B-1"},
                {"name": "", "identifier": "B-2"},  # invalid: never sent
                {"name": "Three", "assigned_user_vendor_id": people.ops, "status": "RESOLVED"},
                {"name": "Four", "custom_fields": {"customfield_1": 1}},  # Jira's, refused
            ],
        )
        assert (body["total"], body["succeeded"], body["failed"]) == (4, 2, 2)
        results = body["results"]
        assert [r["request_index"] for r in results] == [0, 1, 2, 3]
        assert [r["success"] for r in results] == [True, False, True, False]
        assert "name" in results[1]["error"] and "custom_fields" in results[3]["error"]
        assert servicenow_calls(fake_instance, BATCH) == 1
        one = incident(
            fake_instance,
            next(r["sys_id"] for r in incidents(fake_instance) if r["correlation_id"] == "B-1"),
        )
        assert results[0]["vendor_ticket_id"] == one["number"]
        assert (one["impact"], one["urgency"], one["priority"]) == ("2", "3", "4")
        three = next(r for r in incidents(fake_instance) if r["short_description"] == "Three")
        assert (three["state"], three["assigned_to"]) == ("6", people.ops)
        # Vendor-id forms: stored (the identifier is unique at once), but no ticket_id shown.
        assert results[0]["ticket_id"] is None
        assert {t.identifier for t in await tickets_of(runtime, snow)} >= {"B-1"}

    async def test_an_item_servicenow_refuses_is_that_items_error(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        fake_instance.faults.configure(
            {
                "refuse": {
                    "status": 403,
                    "message": "Operation Failed",
                    "routes": ["POST /api/now/table/incident"],
                    "share": 1.0,
                }
            }
        )
        body = await bulk_sync(client, snow, [{"name": "A"}, {"name": "B"}])
        assert body["failed"] == 2
        assert all("ServiceNow refused the operation" in r["error"] for r in body["results"])
        assert incidents(fake_instance) == []

    async def test_an_ambiguous_batch_creates_each_ticket_once(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        fake_instance.faults.configure(
            {"ambiguous": {"mode": "5xx", "status": 504, "count": 1, "routes": [BATCH]}}
        )
        body = await bulk_sync(client, snow, [{"name": f"T{i}"} for i in range(5)])
        assert body["succeeded"] == 5, body
        assert len(incidents(fake_instance)) == 5
        numbers = {r["vendor_ticket_id"] for r in body["results"]}
        assert numbers == {r["number"] for r in incidents(fake_instance)}
        # Applied then lost: found by marker, not sent again.
        assert servicenow_calls(fake_instance, BATCH) == 1

    async def test_a_dropped_answer_resends_nothing_twice(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        fake_instance.faults.configure(
            {"ambiguous": {"mode": "drop", "count": 1, "routes": [BATCH]}}
        )
        body = await bulk_sync(client, snow, [{"name": f"T{i}"} for i in range(3)])
        assert body["succeeded"] == 3, body
        assert len(incidents(fake_instance)) == 3
        assert servicenow_calls(fake_instance, BATCH) == 1

    async def test_an_item_failed_after_it_ran_is_found_not_reported_failed(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        # The batch answers 200; one item was created and still answers 502.
        fake_instance.faults.configure(
            {"ambiguous": {"mode": "5xx", "status": 502, "count": 1, "routes": [CREATE]}}
        )
        body = await bulk_sync(client, snow, [{"name": f"T{i}"} for i in range(4)])
        assert body["succeeded"] == 4, body
        numbers = {r["vendor_ticket_id"] for r in body["results"]}
        assert numbers == {r["number"] for r in incidents(fake_instance)}
        assert len(incidents(fake_instance)) == 4
        assert servicenow_calls(fake_instance, BATCH) == 1  # found by marker, not re-sent

    async def test_an_item_failed_before_it_ran_is_sent_again(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        fake_instance.faults.configure(
            {"error_rate": {"share": 0.25, "status": 503, "routes": [CREATE]}, "seed": 3}
        )
        body = await bulk_sync(client, snow, [{"name": f"T{i}"} for i in range(4)])
        assert body["succeeded"] == 4, body
        names = sorted(r["short_description"] for r in incidents(fake_instance))
        assert names == ["T0", "T1", "T2", "T3"]  # each once: none lost, none twice
        assert servicenow_calls(fake_instance, BATCH) >= 2  # the unapplied items went again

    async def test_a_known_identifier_is_refused_per_item(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        await created(client, snow, identifier="DUP")
        body = await bulk_sync(client, snow, [{"name": "x", "identifier": "DUP"}, {"name": "y"}])
        assert [r["success"] for r in body["results"]] == [False, True]
        assert "already exists" in body["results"][0]["error"]
        assert len(incidents(fake_instance)) == 2


class TestBulkJobs:
    async def test_async_job_reports_every_item(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        r = await client.post(
            f"{TICKETS}/bulk",
            json={"tickets": [{"name": "A", "type": "Network"}, {"name": "B", "type": "Nope"}]},
            headers=snow.headers,
        )
        assert r.status_code == 202, r.text
        job = await wait_job(client, snow, r.json()["job_id"])
        results = job["failure_reason"]["results"]
        assert [x["success"] for x in results] == [True, False]
        assert "valid names" in results[1]["error"]
        [record] = incidents(fake_instance)
        assert record["category"] == "network"
        ticket = await client.get(
            f"{TICKETS}/by-identifier/{results[0]['identifier']}", headers=snow.headers
        )
        assert ticket.json()["vendor_attributes"]["vendor"] == "SERVICENOW"
        assert ticket.json()["type"] == "Network"

    async def test_bulk_update_status_and_fields(
        self,
        client: httpx.AsyncClient,
        snow: Tenant,
        fake_instance: Instance,
        people: People,
    ) -> None:
        tickets = [await created(client, snow, name=f"T{i}") for i in range(3)]
        before = servicenow_calls(fake_instance, BATCH)
        r = await client.post(
            f"{TICKETS}/bulk/update",
            json={
                "ticket_ids": [t["id"] for t in tickets],
                "updates": {
                    "status": "RESOLVED",
                    "priority": "CRITICAL",
                    "assigned_user_vendor_id": people.ops,
                },
            },
            headers=snow.headers,
        )
        assert r.status_code == 202, r.text
        job = await wait_job(client, snow, r.json()["job_id"])
        assert job["status"] == "SUCCESS", job
        for t in tickets:
            record = incident(fake_instance, t["vendor_attributes"]["id"])
            assert (record["state"], record["priority"], record["assigned_to"]) == (
                "6",
                "1",
                people.ops,
            )
            stored = (await client.get(f"{TICKETS}/{t['id']}", headers=snow.headers)).json()
            assert stored["status"] == "RESOLVED" and stored["priority"] == "CRITICAL"
        # One batch for the status, one for the other fields.
        assert servicenow_calls(fake_instance, BATCH) - before == 2

    async def test_bulk_update_of_a_deleted_record_fails_that_item(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        keep, gone = [await created(client, snow, name=n) for n in ("keep", "gone")]
        fake_instance.delete("incident", gone["vendor_attributes"]["id"])
        r = await client.post(
            f"{TICKETS}/bulk/update",
            json={"ticket_ids": [keep["id"], gone["id"]], "updates": {"name": "Renamed"}},
            headers=snow.headers,
        )
        job = await wait_job(client, snow, r.json()["job_id"])
        results = {x["ticket_id"]: x for x in job["failure_reason"]["results"]}
        assert results[keep["id"]]["success"] is True
        assert "no longer exists in ServiceNow" in results[gone["id"]]["error"]
        assert incident(fake_instance, keep["vendor_attributes"]["id"])["short_description"] == (
            "Renamed"
        )
