"""Crash-resume: a run interrupted after page k resumes at page k (the pages before are not
fetched again) and ends with exactly the store an uninterrupted sync builds. The lease keeps
two runners off one connection."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.fixtures.emulator import search_calls, seed
from tests.fixtures.store import catalog, snapshot, sync_state, tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import SyncState
from ticketbridge.sync.service import SyncAlreadyRunning, SyncConfig, SyncProgress, run_sync

PAGES = 10  # 500 issues, 50 per page
SMALL_PAGES = SyncConfig(page_size=50)


class Crash(Exception):
    pass


def crash_at(phase: str, pages: int = 0):  # type: ignore[no-untyped-def]
    def hook(p: SyncProgress) -> None:
        if p.phase == phase and p.pages == pages:
            raise Crash(f"killed in {phase} after page {pages}")

    return hook


async def same_store(runtime: Runtime, a: Tenant, b: Tenant) -> None:
    left = snapshot(await tickets_by_vendor_id(runtime, cid(a)), await catalog(runtime, cid(a)))
    right = snapshot(await tickets_by_vendor_id(runtime, cid(b)), await catalog(runtime, cid(b)))
    assert len(left) == 500
    assert left == right


class TestCrashResume:
    @pytest.mark.slow
    @pytest.mark.parametrize("k", [1, 4, 9])
    async def test_resumes_at_the_last_committed_page(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant, k: int
    ) -> None:
        seed(fake_site, projects=2, per_project=250)
        with pytest.raises(Crash):
            await run_sync(
                runtime, cid(tenant), on_progress=crash_at("tickets", k), config=SMALL_PAGES
            )
        # The reader fetches the next page while a page is written (one ahead); the crash
        # lands in the writer, and the reader may start one more fetch before it is cancelled.
        assert k <= search_calls(fake_site) <= k + 2
        state = await sync_state(runtime, cid(tenant))
        assert (state.status, state.phase, state.lease_owner) == ("FAILED", "tickets", None)
        assert state.cursor["run"]["pages"] == k
        assert state.last_error is not None
        # The class name only: exception text and file paths stay in the server log.
        assert state.last_error == (
            "Crash: internal error during the sync; details are in the server log"
        )
        assert len(await tickets_by_vendor_id(runtime, cid(tenant))) == 50 * k
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant), config=SMALL_PAGES)

        assert (result.resumed, result.mode) == (True, "full")
        assert fake_site.stats.routes["GET /rest/api/3/project/search"] == 0  # catalog was done
        ticket_pages = search_calls(fake_site) - 1  # the last call lists ids (reconciliation)
        # The remaining pages, plus at most one more for the overlap re-read.
        assert PAGES - k <= ticket_pages <= PAGES - k + 1
        state = await sync_state(runtime, cid(tenant))
        assert (state.status, state.full_sync_done, state.last_error) == ("IDLE", True, None)
        await run_sync(runtime, cid(other_tenant))  # the uninterrupted reference
        await same_store(runtime, tenant, other_tenant)

    async def test_crash_during_reconciliation_resumes_there(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        seed(fake_site, projects=2, per_project=250)
        with pytest.raises(Crash):
            await run_sync(
                runtime, cid(tenant), on_progress=crash_at("reconcile", PAGES), config=SMALL_PAGES
            )
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant))

        assert (result.resumed, result.reconciled) == (True, True)
        assert search_calls(fake_site) == 1  # only the id listing
        await run_sync(runtime, cid(other_tenant))
        await same_store(runtime, tenant, other_tenant)

    async def test_a_crash_in_the_catalog_restarts_the_catalog(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=2, per_project=50)
        with pytest.raises(Crash):
            await run_sync(runtime, cid(tenant), on_progress=crash_at("catalog"))
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant))

        assert (result.resumed, result.projects, result.tickets) == (True, 2, 100)
        assert fake_site.stats.routes["GET /rest/api/3/project/search"] == 1

    async def test_a_cancelled_run_resumes(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        seed(fake_site, projects=2, per_project=250)
        reached = asyncio.Event()

        async def stall(p: SyncProgress) -> None:
            if p.phase == "tickets" and p.pages == 3:
                reached.set()
                await asyncio.Event().wait()  # hangs until cancelled (a shutdown, a kill)

        task = asyncio.create_task(
            run_sync(runtime, cid(tenant), on_progress=stall, config=SMALL_PAGES)
        )
        await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        state = await sync_state(runtime, cid(tenant))
        assert (state.status, state.cursor["run"]["pages"]) == ("FAILED", 3)
        assert state.last_error is not None and state.last_error.startswith("CancelledError")
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant), config=SMALL_PAGES)

        assert result.resumed and search_calls(fake_site) - 1 <= PAGES - 3 + 1
        await run_sync(runtime, cid(other_tenant))
        await same_store(runtime, tenant, other_tenant)


class TestLease:
    async def test_a_second_runner_is_refused_while_one_runs(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=1, per_project=250)
        inside, go_on = asyncio.Event(), asyncio.Event()

        async def pause(p: SyncProgress) -> None:
            if p.phase == "tickets" and p.pages == 1:
                inside.set()
                await go_on.wait()

        first = asyncio.create_task(run_sync(runtime, cid(tenant), on_progress=pause))
        await inside.wait()
        with pytest.raises(SyncAlreadyRunning):
            await run_sync(runtime, cid(tenant))
        go_on.set()
        result = await first

        assert result.tickets == 250
        state = await sync_state(runtime, cid(tenant))
        assert (state.status, state.lease_owner, state.last_error) == ("IDLE", None, None)

    async def test_an_expired_lease_of_a_dead_runner_is_taken_over(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=1, per_project=50)
        with pytest.raises(Crash):
            await run_sync(runtime, cid(tenant), on_progress=crash_at("tickets"))
        async with runtime.session() as s:  # a runner that died holding the lease
            await s.execute(
                update(SyncState).values(
                    status="RUNNING",
                    lease_owner="dead-host:1",
                    lease_expires_at=utcnow() - timedelta(seconds=1),
                )
            )

        result = await run_sync(runtime, cid(tenant))

        assert (result.resumed, result.tickets) == (True, 50)

    async def test_a_live_lease_of_another_runner_is_respected(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=1, per_project=10)
        await run_sync(runtime, cid(tenant))
        async with runtime.session() as s:
            await s.execute(
                update(SyncState).values(
                    lease_owner="other-host:7", lease_expires_at=utcnow() + timedelta(minutes=5)
                )
            )
        fake_site.stats.reset()

        with pytest.raises(SyncAlreadyRunning):
            await run_sync(runtime, cid(tenant))
        assert fake_site.stats.total == 0
