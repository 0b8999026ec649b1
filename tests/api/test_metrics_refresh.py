"""The database gauges of ``/metrics`` are read off the scrape's path: the first scrape of a
process waits for them, later ones answer at once with what the process has and start a new
read in the background; the sync lag is computed at each scrape."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.emulator import seed
from tests.fixtures.tenants import Tenant
from ticketbridge.config import Settings
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Every scrape finds the gauges due, so each one starts a read.
    return settings.model_copy(update={"metrics_db_refresh_secs": 0.0})


async def gauge(client: httpx.AsyncClient, name: str, connection_id: str) -> float | None:
    r = await client.get("/metrics")
    assert r.status_code == 200
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("connection_id") == connection_id:
                return float(sample.value)
    return None


async def test_scrapes_answer_without_waiting_for_the_database_read(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, fake_site: Site
) -> None:
    cid = str(tenant.connection_id)
    seed(fake_site, projects=1, per_project=5, users=2)
    assert await gauge(client, "ticketbridge_tickets", cid) == 0  # the first scrape waited
    await run_sync(runtime, uuid.UUID(cid), full=True)

    # Answered with the values the process had; the new read runs in the background.
    assert await gauge(client, "ticketbridge_tickets", cid) == 0
    for _ in range(500):
        if await gauge(client, "ticketbridge_tickets", cid) == 5:
            break
        await asyncio.sleep(0.01)
    assert await gauge(client, "ticketbridge_tickets", cid) == 5


async def test_sync_lag_is_computed_at_each_scrape(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, fake_site: Site
) -> None:
    cid = str(tenant.connection_id)
    seed(fake_site, projects=1, per_project=2, users=1)
    await run_sync(runtime, uuid.UUID(cid), full=True)
    first = await gauge(client, "ticketbridge_sync_lag_seconds", cid)
    second = await gauge(client, "ticketbridge_sync_lag_seconds", cid)
    assert first is not None and second is not None
    assert second > first
