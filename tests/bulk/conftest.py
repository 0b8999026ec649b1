"""The bulk tests run against ``ops_site`` (DEMO and OPS, three people); shared fixtures
(``tenant``, ``synced``, ``retry_sleep``...) come from :mod:`tests.fixtures`. Helpers to wait
for jobs and build bodies."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from ticketbridge.fakejira import Site

SYNC_URL = "/v1/itsm/tickets/bulk/sync"
ASYNC_URL = "/v1/itsm/tickets/bulk"
UPDATE_URL = "/v1/itsm/tickets/bulk/update"
BULK_CREATE = "POST /rest/api/3/issue/bulk"
SEARCH = "POST /rest/api/3/search/jql"


@pytest.fixture(autouse=True)
def _bulk_site(no_settle_delay: None, ops_site: Site) -> None:
    """Every bulk test runs against ``ops_site`` with no settle delay before marker searches."""


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
