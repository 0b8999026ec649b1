"""Sync pages decoded and mapped in the helper process (``sync_map_in_worker``) land exactly
as mapped in this process; a helper that dies or is closed never fails the work."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest

from tests.fixtures.emulator import seed
from tests.fixtures.store import tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.connectors import for_connection
from ticketbridge.connectors.jira import sync_ops
from ticketbridge.connectors.jira.adf import adf_to_markdown
from ticketbridge.connectors.jira.connector import JiraConnector
from ticketbridge.connectors.jira.errors import unexpected
from ticketbridge.errors import VendorError
from ticketbridge.fakejira import Site
from ticketbridge.offload import Offload
from ticketbridge.runtime import Runtime
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.sync.service import SyncConfig, run_sync


class Counting(Offload):
    """The runtime's helper, counting what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def run(self, fn: Any, *args: Any) -> Any:
        self.calls.append(fn.__name__)
        return await super().run(fn, *args)


@pytest.fixture
async def counting(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Any:
    helper = Counting()
    monkeypatch.setattr(runtime, "offload", helper)
    monkeypatch.setattr(sync_ops, "OFFLOAD_MIN_BYTES", 0)  # every page, however small
    yield helper
    await helper.aclose()


class TestOffloadedSync:
    async def test_pages_are_mapped_in_the_helper_and_land_whole(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, counting: Counting
    ) -> None:
        seed(fake_site, projects=2, per_project=40, users=6)

        result = await run_sync(runtime, cid(tenant), config=SyncConfig(page_size=25))

        assert result.tickets == 80
        assert counting.calls.count("map_search_page") >= 80 // 25
        tickets = await tickets_by_vendor_id(runtime, cid(tenant))
        assert set(tickets) == {str(i) for i in fake_site.issues}
        for issue in fake_site.issues.values():
            t = tickets[str(issue.id)]
            assert (t.vendor_key, t.name, t.tags) == (issue.key, issue.summary, issue.labels)
            assert t.description == (
                adf_to_markdown(issue.description) if issue.description else None
            )
            assert t.assigned_user_vendor_id == issue.assignee

    @pytest.mark.parametrize("answer", [b"[1, 2]", b"<html>busy</html>"])
    async def test_an_answer_that_is_not_a_json_object_is_the_same_502(
        self, runtime: Runtime, tenant: Tenant, counting: Counting, answer: bytes
    ) -> None:
        async with runtime.session() as s:
            conn = await SyncRepository(s).connection(cid(tenant))
            assert conn is not None
            connector = for_connection(conn, runtime)
        assert isinstance(connector, JiraConnector)

        async def vendor_answers(jql: str, **_: Any) -> bytes:  # what the vendor sent
            return answer

        connector.client.search_jql_raw = vendor_answers  # type: ignore[method-assign]
        with pytest.raises(VendorError) as offloaded:
            await connector.search_issues_page_offloaded("order by id", None, 10, counting.run)
        assert counting.calls == ["map_search_page"]
        assert (offloaded.value.status_code, offloaded.value.vendor_status) == (502, 200)
        # What the in-process read (JiraClient._object) raises for such a 200.
        assert offloaded.value.message == unexpected(200)

    async def test_setting_off_maps_in_this_process(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(runtime, "offload", None)
        monkeypatch.setattr(sync_ops, "OFFLOAD_MIN_BYTES", 0)
        seed(fake_site, projects=1, per_project=30)

        result = await run_sync(runtime, cid(tenant), config=SyncConfig(page_size=10))

        assert result.tickets == 30
        assert set(await tickets_by_vendor_id(runtime, cid(tenant))) == {
            str(i) for i in fake_site.issues
        }


class TestOffload:
    async def test_runs_in_another_process(self) -> None:
        helper = Offload()
        try:
            assert await helper.run(os.getpid) != os.getpid()
        finally:
            await helper.aclose()

    async def test_an_exception_there_is_the_real_exception_here(self) -> None:
        helper = Offload()
        try:
            with pytest.raises(ValueError, match="invalid literal"):
                await helper.run(int, "not a number")
            assert await helper.run(int, "7") == 7  # the helper carries on
        finally:
            await helper.aclose()

    async def test_a_cancelled_call_leaves_a_working_helper(self) -> None:
        helper = Offload()
        try:
            call = asyncio.ensure_future(helper.run(time.sleep, 5))
            await asyncio.sleep(0.3)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert await helper.run(int, "3") == 3  # not the cancelled call's answer
        finally:
            await helper.aclose()

    async def test_a_dead_worker_is_replaced_and_its_call_runs_here(self) -> None:
        helper = Offload()
        try:
            (first,) = [await helper.run(os.getpid)]
            os.kill(first, signal.SIGKILL)
            assert await helper.run(os.getpid) in (os.getpid(), first)  # here, once it is seen
            second = await helper.run(os.getpid)
            assert second not in (os.getpid(), first)
        finally:
            await helper.aclose()

    async def test_a_helper_that_cannot_start_is_given_up_after_three_tries(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        helper = Offload(preload=["ticketbridge.no_such_module"])  # dies at its start
        try:
            for _ in range(4):
                assert await helper.run(os.getpid) == os.getpid()  # here, every time
            assert helper.worker_pids() == []
            started: list[object] = []
            monkeypatch.setattr(asyncio, "create_subprocess_exec", started.append)
            assert await helper.run(os.getpid) == os.getpid()
            assert started == []  # no fourth helper
        finally:
            await helper.aclose()

    async def test_closed_runs_here_and_leaves_no_worker(self) -> None:
        helper = Offload()
        helper.start()
        pid = await helper.run(os.getpid)
        await helper.aclose()

        assert await helper.run(os.getpid) == os.getpid()
        assert helper.worker_pids() == []
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
