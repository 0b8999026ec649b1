"""Streaming: a sync holds one page at a time, so 10x more issues do not need ~10x memory."""

from __future__ import annotations

import gc
import tracemalloc

import httpx

from tests.fixtures.emulator import seed
from tests.fixtures.tenants import cid, tenant_on
from ticketbridge.fakejira import FakeJiraState
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync


async def peak_of_sync(
    runtime: Runtime,
    client: httpx.AsyncClient,
    fake_jira: FakeJiraState,
    name: str,
    per_project: int,
) -> int:
    fake_site = seed(fake_jira.site(f"{name}.atlassian.net"), projects=2, per_project=per_project)
    fake_site.search.matching_ids("updated >= 0", None)  # the emulator builds its index up front
    tenant = await tenant_on(client, runtime, name, f"{name}.atlassian.net")
    gc.collect()
    tracemalloc.start()
    try:
        result = await run_sync(runtime, cid(tenant))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.tickets == 2 * per_project
    return peak


class TestMemory:
    async def test_peak_memory_is_flat_in_the_number_of_issues(
        self, runtime: Runtime, client: httpx.AsyncClient, fake_jira: FakeJiraState
    ) -> None:
        # A first sync pays one-time costs (statement compilation, lazy imports).
        await peak_of_sync(runtime, client, fake_jira, "warmup", 100)
        small = await peak_of_sync(runtime, client, fake_jira, "small", 250)
        large = await peak_of_sync(runtime, client, fake_jira, "large", 2500)

        assert large < 3 * small, (small, large)
