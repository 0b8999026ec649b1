"""Batch API items answered 429: a rate limit rule refuses an item before it touches a record,
so the item is sent again in a further batch after its Retry-After (never a duplicate), within
the retry policy's budget; past that budget the 429 is the item's error."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.jobs import wait_job
from tests.fixtures.service import RecordingSleep
from tests.fixtures.servicenow import servicenow_calls
from tests.fixtures.tenants import Tenant
from tests.servicenow.conftest import (
    BATCH,
    CREATE,
    TICKETS,
    bulk_sync,
    created,
    incident,
    incidents,
)
from ticketbridge.fakeservicenow import Instance

CREATE_ITEM = "BATCH POST /api/now/table/incident"
PATCH = "PATCH /api/now/table/incident/{sys_id}"


@pytest.fixture(autouse=True)
def _no_settle(no_settle_delay: None) -> None:
    """The emulator reads its writes at once: no wait before a marker search."""


def limit_items(
    instance: Instance, route: str, *, share: float, retry_after: int, seed: int = 1
) -> None:
    instance.faults.configure(
        {
            "seed": seed,
            "rate_limit": {"share": share, "retry_after": retry_after, "routes": [route]},
        }
    )


async def test_rate_limited_create_items_are_sent_again_after_retry_after(
    client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, retry_sleep: RecordingSleep
) -> None:
    limit_items(fake_instance, CREATE, share=0.4, retry_after=3)
    body = await bulk_sync(client, snow, [{"name": f"T{i}"} for i in range(8)])
    assert body["succeeded"] == 8, body
    names = sorted(r["short_description"] for r in incidents(fake_instance))
    assert names == sorted(f"T{i}" for i in range(8))  # each once
    numbers = {r["vendor_ticket_id"] for r in body["results"]}
    assert numbers == {r["number"] for r in incidents(fake_instance)}
    batches = servicenow_calls(fake_instance, BATCH)
    assert batches >= 2
    # Only the limited items went again: 8 items plus one per 429.
    limited = fake_instance.faults.injected["rate_limited"]
    assert servicenow_calls(fake_instance, CREATE_ITEM) == 8 + limited
    assert retry_sleep.waits == [3.0] * (batches - 1)


async def test_a_retry_after_past_the_budget_is_the_items_error(
    client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, retry_sleep: RecordingSleep
) -> None:
    limit_items(fake_instance, CREATE, share=1.0, retry_after=3600)
    body = await bulk_sync(client, snow, [{"name": "A"}, {"name": "B"}])
    assert body["failed"] == 2
    assert all("rate limit" in r["error"].lower() for r in body["results"]), body
    assert incidents(fake_instance) == []
    assert servicenow_calls(fake_instance, BATCH) == 1
    assert retry_sleep.waits == []


async def test_rate_limited_and_failed_items_reconcile_by_marker_once(
    client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, retry_sleep: RecordingSleep
) -> None:
    # One item ran and answered 502 (its outcome unknown), others were limited: the chunk is
    # reconciled by marker, and what was not found (the limited ones) is sent again.
    fake_instance.faults.configure(
        {
            "seed": 1,
            "rate_limit": {"share": 0.4, "retry_after": 1, "routes": [CREATE]},
            "ambiguous": {"mode": "5xx", "status": 502, "count": 1, "routes": [CREATE]},
        }
    )
    body = await bulk_sync(client, snow, [{"name": f"T{i}"} for i in range(6)])
    assert body["succeeded"] == 6, body
    names = sorted(r["short_description"] for r in incidents(fake_instance))
    assert names == sorted(f"T{i}" for i in range(6))
    injected = fake_instance.faults.injected
    assert injected["rate_limited"] > 0 and injected["ambiguous_5xx"] == 1


async def test_rate_limited_update_items_are_sent_again(
    client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, retry_sleep: RecordingSleep
) -> None:
    tickets = [await created(client, snow, name=f"T{i}") for i in range(5)]
    limit_items(fake_instance, PATCH, share=0.5, retry_after=2)
    r = await client.post(
        f"{TICKETS}/bulk/update",
        json={"ticket_ids": [t["id"] for t in tickets], "updates": {"name": "Renamed"}},
        headers=snow.headers,
    )
    assert r.status_code == 202, r.text
    job = await wait_job(client, snow, r.json()["job_id"])
    assert job["status"] == "SUCCESS", job
    for t in tickets:
        assert incident(fake_instance, t["vendor_attributes"]["id"])["short_description"] == (
            "Renamed"
        )
    assert fake_instance.faults.injected["rate_limited"] > 0
    assert retry_sleep.waits and set(retry_sleep.waits) == {2.0}
