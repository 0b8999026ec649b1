"""The full sync's partitioned, pipelined walk: slices read concurrently within the
connection's vendor concurrency cap, each with its own resume point, building the same store
as one ordered stream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.fixtures.emulator import search_calls, seed
from tests.fixtures.service import SECRET_KEY, RecordingSleep
from tests.fixtures.store import catalog, snapshot, sync_state, tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.config import Settings
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.pipeline import Gate
from ticketbridge.sync.service import SyncConfig, SyncProgress, run_sync

ISSUES = 600  # 3 projects x 200, 50 per page
# Slices of at least one page, three read at a time: 3 projects x 4 id ranges + the rest.
SLICED = SyncConfig(page_size=50, slice_pages=1, readers=3)
STREAM = SyncConfig(page_size=50, partitioned=False)


class Crash(Exception):
    pass


async def same_store(runtime: Runtime, a: Tenant, b: Tenant) -> None:
    left = snapshot(await tickets_by_vendor_id(runtime, cid(a)), await catalog(runtime, cid(a)))
    right = snapshot(await tickets_by_vendor_id(runtime, cid(b)), await catalog(runtime, cid(b)))
    assert len(left) == ISSUES
    assert left == right


async def unfinished_slices(runtime: Runtime, tenant: Tenant) -> int:
    state = await sync_state(runtime, cid(tenant))
    return sum(not p["done"] for p in state.cursor["run"]["partitions"])


class TestPartitionedWalk:
    async def test_slices_cover_the_scope_and_match_one_stream(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)
        sliced = await run_sync(runtime, cid(tenant), config=SLICED)
        streamed = await run_sync(runtime, cid(other_tenant), config=STREAM)

        assert sliced.tickets == streamed.tickets == ISSUES
        assert streamed.pages == ISSUES // 50
        assert sliced.pages > streamed.pages  # one walk per slice: the slices were used
        await same_store(runtime, tenant, other_tenant)
        state = await sync_state(runtime, cid(tenant))
        # The watermark rule is the stream's: the highest `updated` stored.
        assert state.cursor == {"watermark_ms": max(i.updated for i in fake_site.issues.values())}

    async def test_a_small_scope_reads_as_one_stream(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=20)  # 60 issues: under two slices
        result = await run_sync(runtime, cid(tenant), config=SLICED)
        assert (result.tickets, result.pages) == (60, 2)

    async def test_children_in_other_slices_are_linked(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)
        parents = {i.id: i for i in fake_site.issues.values()}
        children = [i for i in fake_site.issues.values() if i.parent_id is not None]
        assert children, "the seed has sub-tasks"
        await run_sync(runtime, cid(tenant), config=SLICED)

        stored = await tickets_by_vendor_id(runtime, cid(tenant))
        for child in children:
            ticket = stored[str(child.id)]
            parent = parents[child.parent_id]  # type: ignore[index]
            assert ticket.parent_ticket_id == stored[str(parent.id)].id


class TestReadAhead:
    async def test_each_slice_fetches_one_page_ahead_while_the_writer_is_busy(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)
        before_walk: list[int] = []
        stalled = asyncio.Event()

        async def stall(p: SyncProgress) -> None:
            if p.phase == "tickets" and p.pages == 0:
                before_walk.append(search_calls(fake_site))  # planning done, no page read
            if p.phase == "tickets" and p.pages == 1:
                stalled.set()
                await asyncio.Event().wait()  # the writer stops after its first page

        task = asyncio.create_task(run_sync(runtime, cid(tenant), on_progress=stall, config=SLICED))
        try:
            await asyncio.wait_for(stalled.wait(), 30)

            def fetched() -> int:
                return search_calls(fake_site) - before_walk[0]

            # One page committed; each of the 3 readers holds its slice's next page(s): more
            # than one page per slice is read while its previous one waits to be written ...
            async def read_ahead() -> None:
                while fetched() <= 1 + 3:
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(read_ahead(), 30)
            await asyncio.sleep(0.3)
            # ... but no more than one ahead: 1 committed + 2 per slice being read.
            assert fetched() <= 1 + 2 * 3
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


class TestPartitionedResume:
    @pytest.mark.parametrize("k", [2, 7])
    async def test_a_crash_rereads_at_most_two_pages_per_slice(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant, k: int
    ) -> None:
        seed(fake_site, projects=3, per_project=200)

        def crash(p: SyncProgress) -> None:
            if p.phase == "tickets" and p.pages == k:
                raise Crash(f"killed after page {k}")

        with pytest.raises(Crash):
            await run_sync(runtime, cid(tenant), on_progress=crash, config=SLICED)
        crashed_calls = search_calls(fake_site)
        open_slices = await unfinished_slices(runtime, tenant)
        assert open_slices > 1
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant), config=SLICED)
        resumed_calls = search_calls(fake_site)
        fake_site.stats.reset()
        reference = await run_sync(runtime, cid(other_tenant), config=SLICED)

        assert (result.resumed, result.tickets) == (True, reference.tickets)
        # Every page of the reference was read once by the two attempts together, plus the
        # pages that were fetched but not committed when the run died: at most two per slice
        # (the one being written and the one fetched ahead of it).
        reread = crashed_calls + resumed_calls - search_calls(fake_site)
        assert 0 <= reread <= 2 * open_slices
        await same_store(runtime, tenant, other_tenant)

    async def test_a_cancelled_run_resumes_each_slice(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)
        reached = asyncio.Event()

        async def stall(p: SyncProgress) -> None:
            if p.phase == "tickets" and p.pages == 4:
                reached.set()
                await asyncio.Event().wait()  # hangs until cancelled (a shutdown, a kill)

        task = asyncio.create_task(run_sync(runtime, cid(tenant), on_progress=stall, config=SLICED))
        await asyncio.wait_for(reached.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        crashed_calls = search_calls(fake_site)
        open_slices = await unfinished_slices(runtime, tenant)
        state = await sync_state(runtime, cid(tenant))
        assert (state.status, state.cursor["run"]["pages"]) == ("FAILED", 4)
        fake_site.stats.reset()

        await run_sync(runtime, cid(tenant), config=SLICED)
        resumed_calls = search_calls(fake_site)
        fake_site.stats.reset()
        await run_sync(runtime, cid(other_tenant), config=SLICED)

        reread = crashed_calls + resumed_calls - search_calls(fake_site)
        assert 0 <= reread <= 2 * open_slices
        await same_store(runtime, tenant, other_tenant)

    async def test_a_resume_point_whose_issue_is_gone_still_resumes(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)

        def crash(p: SyncProgress) -> None:
            if p.phase == "tickets" and p.pages == 5:
                raise Crash("killed")

        with pytest.raises(Crash):
            await run_sync(runtime, cid(tenant), on_progress=crash, config=SLICED)
        state = await sync_state(runtime, cid(tenant))
        points = [p["after"] for p in state.cursor["run"]["partitions"] if p["after"]]
        assert points
        for key in points:  # the issues the resume points name are deleted meanwhile
            fake_site.delete_issue(fake_site.get_issue(key), delete_subtasks=True)

        result = await run_sync(runtime, cid(tenant), config=SLICED)
        await run_sync(runtime, cid(other_tenant), config=SLICED)

        assert result.resumed
        mine = await tickets_by_vendor_id(runtime, cid(tenant))
        theirs = await tickets_by_vendor_id(runtime, cid(other_tenant))
        live = {vid for vid, t in mine.items() if t.active}
        assert live == set(theirs) == {str(i) for i in fake_site.issues}


class TestConcurrencyCap:
    async def test_reads_stay_within_the_cap(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)
        fake_site.faults.configure({"latency_ms": 5})  # requests overlap long enough to see
        fake_site.stats.reset()
        await run_sync(runtime, cid(tenant), config=SyncConfig(page_size=50, slice_pages=1))
        cap = runtime.connectors.max_concurrency
        assert 1 < fake_site.stats.peak_in_flight <= cap


class TestCapOfOne:
    @pytest.fixture
    def settings(self, db_url: str, tmp_path: Path) -> Settings:
        return Settings(
            database_url=db_url,
            data_dir=tmp_path / "data",
            secret_key=SECRET_KEY,
            scheduler_enabled=False,
            allow_private_vendor_urls=True,
            vendor_max_concurrency=1,
        )

    async def test_a_sync_with_a_cap_of_one_reads_one_request_at_a_time(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)
        fake_site.faults.configure({"latency_ms": 5})
        fake_site.stats.reset()
        result = await run_sync(runtime, cid(tenant), config=SyncConfig(page_size=50))
        assert fake_site.stats.peak_in_flight == 1
        assert result.tickets == ISSUES
        await run_sync(runtime, cid(other_tenant), config=STREAM)
        await same_store(runtime, tenant, other_tenant)


class TestGate:
    async def test_halves_on_rate_limits_and_widens_after_clean_reads(self) -> None:
        gate = Gate(8)
        gate.throttled(True)
        assert gate.width == 4
        gate.throttled(True)
        gate.throttled(True)
        gate.throttled(True)
        assert gate.width == 1
        gate.throttled(False)  # a clean round at width 1
        assert gate.width == 2
        for _ in range(2):
            gate.throttled(False)
        assert gate.width == 3

    async def test_admits_at_most_its_width(self) -> None:
        gate, inside, peak = Gate(2), 0, 0

        async def one() -> None:
            nonlocal inside, peak
            async with gate:
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.001)
                inside -= 1

        await asyncio.gather(*(one() for _ in range(6)))
        assert peak == 2


class TestRefusedSlice:
    async def test_a_refused_slice_query_falls_back_to_one_stream(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)

        fired: list[int] = []

        def refuse_once(p: SyncProgress) -> None:
            # As Jira answers a query naming a project deleted since the run was planned.
            if p.phase == "tickets" and p.pages == 3 and not fired:
                fired.append(p.pages)
                fake_site.faults.configure(
                    {
                        "refuse": {
                            "status": 400,
                            "message": "The value 'OPS' does not exist for the field 'project'.",
                            "routes": ["POST /rest/api/3/search/jql"],
                            "count": 1,
                        }
                    }
                )

        result = await run_sync(runtime, cid(tenant), on_progress=refuse_once, config=SLICED)
        await run_sync(runtime, cid(other_tenant), config=SLICED)

        assert fake_site.faults.injected["refused"] == 1
        assert result.tickets >= ISSUES  # the stream re-read the scope from its start
        state = await sync_state(runtime, cid(tenant))
        assert state.status == "IDLE" and "run" not in state.cursor
        await same_store(runtime, tenant, other_tenant)


class TestRateLimitedSlices:
    async def test_slices_back_off_under_429s_and_finish(
        self,
        fake_site: Site,
        runtime: Runtime,
        tenant: Tenant,
        other_tenant: Tenant,
        patient_retries: RecordingSleep,
    ) -> None:
        seed(fake_site, projects=3, per_project=200)
        fake_site.faults.configure(
            {
                "seed": 7,
                "rate_limit": {
                    "share": 0.3,
                    "retry_after": 1,
                    "routes": ["POST /rest/api/3/search/jql"],
                },
            }
        )
        result = await run_sync(runtime, cid(tenant), config=SLICED)
        assert fake_site.faults.injected["rate_limited"] > 0
        assert patient_retries.waits and set(patient_retries.waits) == {1.0}
        fake_site.faults.configure({})
        await run_sync(runtime, cid(other_tenant), config=SLICED)

        assert result.tickets == ISSUES
        await same_store(runtime, tenant, other_tenant)
