"""Fixtures for the bulk tests: the API against fakejira in-process, two tenants, a synced
catalog, and helpers to wait for jobs. ``fake_jira``, ``vendor_transport`` and ``runtime`` are
the shared conftest's; ``tenant`` and ``other_tenant`` mean what its fixtures of those names
mean, on a site with more projects and people."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.helpers import Tenant, make_tenant
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync

SYNC_URL = "/v1/itsm/tickets/bulk/sync"
ASYNC_URL = "/v1/itsm/tickets/bulk"
UPDATE_URL = "/v1/itsm/tickets/bulk/update"
BULK_CREATE = "POST /rest/api/3/issue/bulk"
SEARCH = "POST /rest/api/3/search/jql"


@pytest.fixture(autouse=True)
def no_settle_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's search sees writes at once: no need to wait before marker searches."""
    monkeypatch.setattr("ticketbridge.bulk.create.SETTLE_SECS", 0.0)


@pytest.fixture
def site(fake_site: Site) -> Site:
    """The site the tenants' connections point at: DEMO plus OPS, and two more people."""
    fake_site.add_project("OPS", "Operations")
    fake_site.add_user("dev@example.com", "Dev One")
    fake_site.add_user("ops@example.com", "Ops Two")
    return fake_site


@dataclass
class Waits:
    """Retry waits the vendor HTTP layer asked for (recorded, never slept)."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def waits(runtime: Runtime) -> Waits:
    recorder = Waits()
    runtime.connectors.policy.sleep = recorder
    return recorder


@pytest.fixture
async def tenant(client: httpx.AsyncClient, runtime: Runtime, site: Site, waits: Waits) -> Tenant:
    return await make_tenant(client, runtime, "acme")


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient, runtime: Runtime, site: Site) -> Tenant:
    return await make_tenant(client, runtime, "globex")


@pytest.fixture
async def synced(runtime: Runtime, tenant: Tenant) -> Tenant:
    """``tenant`` with its catalog and tickets synced (so UUID forms resolve)."""
    assert tenant.connection_id is not None
    await run_sync(runtime, uuid.UUID(tenant.connection_id), full=True)
    return tenant


async def wait_job(
    client: httpx.AsyncClient, tenant: Tenant, job_id: str, *, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll ``GET /v1/jobs/{id}`` until the job is finished (bounded in time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        r = await client.get(f"/v1/jobs/{job_id}", headers=tenant.headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in ("SUCCESS", "FAILED"):
            return body
        assert loop.time() < deadline, f"job {job_id} still {body['status']} after {timeout}s"
        await asyncio.sleep(0.05)


def ticket(i: int, **over: Any) -> dict[str, Any]:
    """A vendor-id create body (no store needed)."""
    body: dict[str, Any] = {"name": f"bulk ticket {i}", "project_vendor_id": "DEMO", "type": "Task"}
    body.update(over)
    return body


def stats(site: Site) -> dict[str, int]:
    return dict(site.stats.routes)
