"""A ServiceNow full sync reads disjoint sys_id ranges of the table concurrently, each with its
own resume point, and builds the same store as one ordered stream. Vendor calls are counted
from the emulator's statistics."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.fixtures.servicenow import seed_servicenow, servicenow_calls
from tests.fixtures.store import catalog, snapshot, sync_state, tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from tests.servicenow.conftest import make_snow_tenant
from ticketbridge.connectors.servicenow import partitions
from ticketbridge.fakeservicenow import Instance
from ticketbridge.runtime import Runtime
from ticketbridge.sync.run import SyncConfig, SyncProgress
from ticketbridge.sync.service import run_sync

RECORDS = 600  # 50 per page
# Slices of at least one page, three read at a time: 12 sys_id ranges of about 50 records.
SLICED = SyncConfig(page_size=50, slice_pages=1, readers=3)
STREAM = SyncConfig(page_size=50, partitioned=False)
GET = "GET /api/now/table/incident"
# Besides the pages: the sync's size check (one count), the plan (a count and both edge
# sys_ids) and the deletion reconciliation's sys_id listing (one page of 10,000).
PLAN_CALLS = 1 + 3
RECONCILE_CALLS = 1


class Crash(Exception):
    pass


@pytest.fixture
async def acme(client: httpx.AsyncClient, runtime: Runtime, fake_instance: Instance) -> Tenant:
    seed_servicenow(fake_instance, incidents=RECORDS)
    return await make_snow_tenant(client, runtime, "acme")


@pytest.fixture
async def globex(client: httpx.AsyncClient, runtime: Runtime, acme: Tenant) -> Tenant:
    """A second connection to the same instance: the reference run's store."""
    return await make_snow_tenant(client, runtime, "globex")


def calls(instance: Instance) -> int:
    return servicenow_calls(instance, GET)


async def same_store(runtime: Runtime, a: Tenant, b: Tenant, instance: Instance) -> None:
    left = snapshot(await tickets_by_vendor_id(runtime, cid(a)), await catalog(runtime, cid(a)))
    right = snapshot(await tickets_by_vendor_id(runtime, cid(b)), await catalog(runtime, cid(b)))
    assert set(left) == {r["sys_id"] for r in instance.rows("incident")}
    assert left == right


async def slices(runtime: Runtime, tenant: Tenant) -> list[dict[str, Any]]:
    state = await sync_state(runtime, cid(tenant))
    found: list[dict[str, Any]] = state.cursor["run"]["partitions"]
    return found


async def crash_after(runtime: Runtime, tenant: Tenant, pages: int) -> None:
    def crash(p: SyncProgress) -> None:
        if p.phase == "tickets" and p.pages == pages:
            raise Crash(f"killed after page {pages}")

    with pytest.raises(Crash):
        await run_sync(runtime, cid(tenant), full=True, on_progress=crash, config=SLICED)


class TestSlicedFullSync:
    async def test_slices_cover_the_table_once_and_match_one_stream(
        self, runtime: Runtime, acme: Tenant, globex: Tenant, fake_instance: Instance
    ) -> None:
        fake_instance.stats.reset()
        sliced = await run_sync(runtime, cid(acme), full=True, config=SLICED)
        sliced_calls = calls(fake_instance)
        fake_instance.stats.reset()
        streamed = await run_sync(runtime, cid(globex), full=True, config=STREAM)

        # Every record written once: the ranges neither overlap nor leave a gap.
        assert sliced.tickets == streamed.tickets == RECORDS
        assert sliced.pages > streamed.pages  # one walk per slice: the slices were used
        assert sliced_calls == sliced.pages + PLAN_CALLS + RECONCILE_CALLS
        assert calls(fake_instance) == streamed.pages + RECONCILE_CALLS
        await same_store(runtime, acme, globex, fake_instance)
        state = await sync_state(runtime, cid(acme))
        assert state.status == "IDLE" and "run" not in state.cursor

    async def test_the_ranges_are_ordered_adjacent_and_open_at_both_ends(
        self, runtime: Runtime, acme: Tenant, fake_instance: Instance
    ) -> None:
        await crash_after(runtime, acme, 1)
        specs = [s["spec"] for s in await slices(runtime, acme)]
        assert len(specs) > 1
        assert specs[0]["from"] is None and specs[-1]["to"] is None
        assert all(a["to"] == b["from"] for a, b in zip(specs, specs[1:], strict=False))
        bounds = [s["to"] for s in specs[:-1]]
        assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds)
        # Each record lies in exactly one range.
        for record in fake_instance.rows("incident"):
            sys_id = record["sys_id"]
            holders = [
                s
                for s in specs
                if (s["from"] is None or sys_id >= s["from"])
                and (s["to"] is None or sys_id < s["to"])
            ]
            assert len(holders) == 1

    async def test_a_small_table_reads_as_one_stream(
        self, runtime: Runtime, acme: Tenant, fake_instance: Instance
    ) -> None:
        seed_servicenow(fake_instance, incidents=60)  # under two slices
        fake_instance.stats.reset()
        result = await run_sync(runtime, cid(acme), full=True, config=SLICED)
        assert (result.tickets, result.pages) == (60, 2)
        assert calls(fake_instance) == result.pages + 1 + RECONCILE_CALLS  # the size check

    async def test_reads_stay_within_the_cap(
        self, runtime: Runtime, acme: Tenant, fake_instance: Instance
    ) -> None:
        fake_instance.faults.configure({"latency_ms": 5})  # requests overlap long enough to see
        fake_instance.stats.reset()
        result = await run_sync(
            runtime, cid(acme), full=True, config=SyncConfig(page_size=50, slice_pages=1)
        )
        assert result.tickets == RECORDS
        cap = runtime.connectors.max_concurrency
        assert 1 < fake_instance.stats.peak_in_flight <= cap


class TestSlicedResume:
    @pytest.mark.parametrize("k", [2, 7])
    async def test_a_crash_rereads_at_most_two_pages_per_slice(
        self, runtime: Runtime, acme: Tenant, globex: Tenant, fake_instance: Instance, k: int
    ) -> None:
        fake_instance.stats.reset()
        await crash_after(runtime, acme, k)
        crashed_calls = calls(fake_instance)
        open_slices = sum(not s["done"] for s in await slices(runtime, acme))
        assert open_slices > 1
        fake_instance.stats.reset()

        result = await run_sync(runtime, cid(acme), full=True, config=SLICED)
        resumed_calls = calls(fake_instance)
        fake_instance.stats.reset()
        reference = await run_sync(runtime, cid(globex), full=True, config=SLICED)

        assert (result.resumed, result.tickets) == (True, reference.tickets)
        # The crashed run planned, the resumed one did not; both reference calls of that kind
        # and the reconciliation are in the two attempts once. What is left over are pages
        # read again: at most two per unfinished slice (the one being written and the one
        # fetched ahead of it), as Jira's slices.
        reread = crashed_calls + resumed_calls - calls(fake_instance)
        assert 0 <= reread <= 2 * open_slices
        await same_store(runtime, acme, globex, fake_instance)

    async def test_a_cancelled_run_resumes_each_slice(
        self, runtime: Runtime, acme: Tenant, globex: Tenant, fake_instance: Instance
    ) -> None:
        reached = asyncio.Event()

        async def stall(p: SyncProgress) -> None:
            if p.phase == "tickets" and p.pages == 4:
                reached.set()
                await asyncio.Event().wait()  # hangs until cancelled (a shutdown, a kill)

        fake_instance.stats.reset()
        task = asyncio.create_task(
            run_sync(runtime, cid(acme), full=True, on_progress=stall, config=SLICED)
        )
        await asyncio.wait_for(reached.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        crashed_calls = calls(fake_instance)
        open_slices = sum(not s["done"] for s in await slices(runtime, acme))
        fake_instance.stats.reset()

        await run_sync(runtime, cid(acme), full=True, config=SLICED)
        resumed_calls = calls(fake_instance)
        fake_instance.stats.reset()
        await run_sync(runtime, cid(globex), full=True, config=SLICED)

        reread = crashed_calls + resumed_calls - calls(fake_instance)
        assert 0 <= reread <= 2 * open_slices
        await same_store(runtime, acme, globex, fake_instance)

    async def test_a_resume_point_whose_record_is_gone_still_resumes(
        self, runtime: Runtime, acme: Tenant, globex: Tenant, fake_instance: Instance
    ) -> None:
        await crash_after(runtime, acme, 5)
        points = [s["after"] for s in await slices(runtime, acme) if s["after"]]
        assert points
        for sys_id in points:  # the records the resume points name are deleted meanwhile
            fake_instance.delete("incident", sys_id)

        result = await run_sync(runtime, cid(acme), full=True, config=SLICED)
        await run_sync(runtime, cid(globex), full=True, config=SLICED)

        assert result.resumed
        mine = await tickets_by_vendor_id(runtime, cid(acme))
        theirs = await tickets_by_vendor_id(runtime, cid(globex))
        live = {vid for vid, t in mine.items() if t.active}
        assert live == set(theirs) == {r["sys_id"] for r in fake_instance.rows("incident")}


class TestSliceQueries:
    def test_a_slice_reads_its_range_in_sys_id_order_after_its_resume_point(self) -> None:
        low, high = "4" * 32, "8" * 32
        part = {"from": low, "to": high, "estimate": 10}
        assert partitions.query(part, None) == f"sys_id>={low}^sys_id<{high}^ORDERBYsys_id"
        after = "5" * 32
        assert partitions.query({"from": None, "to": None}, after) == (
            f"sys_id>{after}^ORDERBYsys_id"
        )
        # The resume point is the highest sys_id of the page inside the range.
        assert partitions.position(part, ["5" * 32, "6" * 32, "9" * 32]) == "6" * 32
        assert partitions.position(part, []) is None

    def test_a_stored_bound_that_is_not_a_sys_id_is_refused(self) -> None:
        with pytest.raises(ValueError):
            partitions.query({"from": "0^ORDERBYnumber", "to": None}, None)
