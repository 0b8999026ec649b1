"""Syncing a ServiceNow connection: records, users (itil), groups; incremental walks on
``sys_updated_on`` with a keyset that never skips rows sharing a second; deletions reconciled
from the sys_id listing; 429 Retry-After and X-Total-Count honoured."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.service import RecordingSleep
from tests.fixtures.servicenow import seed_servicenow, servicenow_calls
from tests.fixtures.store import tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from tests.servicenow.conftest import make_snow_tenant
from ticketbridge.fakeservicenow import FakeServiceNowState, Instance
from ticketbridge.runtime import Runtime
from ticketbridge.sync.run import SyncConfig, SyncProgress
from ticketbridge.sync.service import run_sync

START_S = 1_760_000_000  # 2025-10-09 08:53:20 UTC


class Clock:
    """The emulator's "now", settable: rows written without advancing it share a second."""

    def __init__(self) -> None:
        self.now = float(START_S)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake_servicenow(clock: Clock) -> FakeServiceNowState:
    return FakeServiceNowState(clock=clock)


@pytest.fixture
async def seeded(client: httpx.AsyncClient, runtime: Runtime, fake_instance: Instance) -> Tenant:
    seed_servicenow(fake_instance, incidents=120, users=20, groups=4)
    return await make_snow_tenant(client, runtime, "acme")


async def items(client: httpx.AsyncClient, tenant: Tenant, path: str, **params: Any) -> list[Any]:
    r = await client.get(path, params={"limit": 1000, **params}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    found: list[Any] = r.json()["items"]
    return found


def itil_users(instance: Instance) -> set[str]:
    role = next(r["sys_id"] for r in instance.rows("sys_user_role") if r["name"] == "itil")
    granted = {g["user"] for g in instance.rows("sys_user_has_role") if g["role"] == role}
    return {
        u["sys_id"]
        for u in instance.rows("sys_user")
        if u["sys_id"] in granted and u["active"] == "true"
    }


class TestFullSync:
    async def test_records_users_and_groups(
        self, client: httpx.AsyncClient, seeded: Tenant, fake_instance: Instance, runtime: Runtime
    ) -> None:
        result = await run_sync(runtime, cid(seeded), full=True)
        assert result.tickets == 120 and result.projects == 0
        stored = await tickets_by_vendor_id(runtime, cid(seeded))
        assert set(stored) == {r["sys_id"] for r in fake_instance.rows("incident")}
        record = next(iter(fake_instance.rows("incident")))
        ticket = stored[record["sys_id"]]
        assert ticket.name == record["short_description"]
        assert ticket.vendor_key == record["number"] and ticket.project_id is None
        users = await items(client, seeded, "/v1/itsm/users")
        assert {u["vendor_id"] for u in users} == itil_users(fake_instance)
        assert all(u["vendor_attributes"]["vendor"] == "SERVICENOW" for u in users)
        groups = await items(client, seeded, "/v1/itsm/groups")
        assert {g["name"] for g in groups} == {
            g["name"] for g in fake_instance.rows("sys_user_group")
        }
        # Assignees and parents link to the synced rows.
        assigned = [t for t in stored.values() if t.assigned_user_vendor_id]
        assert assigned and all(
            t.assigned_user_id is not None
            for t in assigned
            if t.assigned_user_vendor_id in itil_users(fake_instance)
        )
        children = [t for t in stored.values() if t.parent_ticket_vendor_id]
        assert children and all(t.parent_ticket_id is not None for t in children)

    async def test_groups_endpoint_pages_and_deactivates(
        self, client: httpx.AsyncClient, seeded: Tenant, fake_instance: Instance, runtime: Runtime
    ) -> None:
        await run_sync(runtime, cid(seeded), full=True)
        first = (
            await client.get(
                "/v1/itsm/groups",
                params={"enableCursor": "true", "limit": 2},
                headers=seeded.headers,
            )
        ).json()
        second = (
            await client.get(
                "/v1/itsm/groups", params={"cursor": first["next_cursor"]}, headers=seeded.headers
            )
        ).json()
        assert len(first["items"]) == 2 and len(second["items"]) == 2
        group = first["items"][0]
        one = await client.get(f"/v1/itsm/groups/{group['id']}", headers=seeded.headers)
        assert one.json()["name"] == group["name"]
        fake_instance.update("sys_user_group", group["vendor_id"], {"active": "false"})
        await run_sync(runtime, cid(seeded))
        inactive = await items(client, seeded, "/v1/itsm/groups", active="false")
        assert [g["vendor_id"] for g in inactive] == [group["vendor_id"]]

    async def test_estimate_comes_from_x_total_count(
        self, seeded: Tenant, runtime: Runtime
    ) -> None:
        seen: list[SyncProgress] = []
        await run_sync(
            runtime, cid(seeded), full=True, estimate_total=True, on_progress=seen.append
        )
        assert {p.estimated_total for p in seen if p.estimated_total is not None} == {120}


class TestIncremental:
    async def test_rows_sharing_a_second_are_never_skipped(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        fake_instance: Instance,
        clock: Clock,
    ) -> None:
        tenant = await make_snow_tenant(client, runtime, "acme")
        for n in range(25):  # one second for all of them
            fake_instance.insert("incident", {"short_description": f"Tie {n}"})
        result = await run_sync(runtime, cid(tenant), full=True, config=SyncConfig(page_size=10))
        assert result.tickets == 25 and result.pages == 3
        assert len(await tickets_by_vendor_id(runtime, cid(tenant))) == 25

    async def test_changes_after_the_watermark_are_read(
        self,
        client: httpx.AsyncClient,
        seeded: Tenant,
        runtime: Runtime,
        fake_instance: Instance,
        clock: Clock,
    ) -> None:
        await run_sync(runtime, cid(seeded), full=True)
        clock.now += 3600
        record = next(iter(fake_instance.rows("incident")))
        fake_instance.update("incident", record["sys_id"], {"short_description": "Edited"})
        new = fake_instance.insert("incident", {"short_description": "Brand new"})
        before = servicenow_calls(fake_instance, "GET /api/now/table/incident")
        result = await run_sync(runtime, cid(seeded))
        assert result.mode == "incremental"
        # Only what changed since the watermark (minus the overlap) is read again.
        assert result.tickets < 10
        assert servicenow_calls(fake_instance, "GET /api/now/table/incident") - before <= 3
        stored = await tickets_by_vendor_id(runtime, cid(seeded))
        assert stored[record["sys_id"]].name == "Edited"
        assert stored[new["sys_id"]].name == "Brand new"


class TestDeletions:
    async def test_deleted_records_become_inactive_and_come_back(
        self,
        client: httpx.AsyncClient,
        seeded: Tenant,
        runtime: Runtime,
        fake_instance: Instance,
    ) -> None:
        await run_sync(runtime, cid(seeded), full=True)
        victim = next(iter(fake_instance.rows("incident")))
        saved = dict(victim)
        fake_instance.delete("incident", victim["sys_id"])
        result = await run_sync(runtime, cid(seeded), full=True)
        assert result.deactivated == 1
        ticket = (await tickets_by_vendor_id(runtime, cid(seeded)))[victim["sys_id"]]
        assert ticket.active is False
        listed = await items(client, seeded, "/v1/itsm/tickets", active="false")
        assert [t["vendor_attributes"]["id"] for t in listed] == [victim["sys_id"]]
        # Restored (same sys_id): the next sync reads it again and it is active once more.
        fake_instance.insert(
            "incident",
            {"sys_id": saved["sys_id"], "short_description": saved["short_description"]},
        )
        await run_sync(runtime, cid(seeded), full=True)
        ticket = (await tickets_by_vendor_id(runtime, cid(seeded)))[victim["sys_id"]]
        assert ticket.active is True


class TestRateLimits:
    async def test_retry_after_is_honoured(
        self,
        seeded: Tenant,
        runtime: Runtime,
        fake_instance: Instance,
        patient_retries: RecordingSleep,
    ) -> None:
        fake_instance.faults.configure({"seed": 3, "rate_limit": {"share": 0.3, "retry_after": 2}})
        result = await run_sync(runtime, cid(seeded), full=True)
        assert result.tickets == 120
        assert patient_retries.waits and set(patient_retries.waits) == {2.0}
