"""Vendor failures and caller mistakes, mapped to our error tree (never a 500)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import (
    PROJECT_SEARCH,
    PROJECTS_URL,
    SEARCH_JQL,
    SEARCH_URL,
    calls,
    issue_types_url,
    users_url,
)
from ticketbridge.fakejira import DEFAULT_ADMIN_EMAIL, Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Connection

ENDPOINTS = [
    (PROJECTS_URL, {}),
    (issue_types_url("DEMO"), {}),
    (users_url("DEMO"), {}),
    (SEARCH_URL, {"jql": "project = DEMO"}),
]


@pytest.fixture
def retry_waits(retry_sleep: Any) -> list[float]:
    """Retry waits, recorded instead of slept: the interactive policy keeps the shared sleep."""
    recorded: list[float] = retry_sleep.waits
    return recorded


class TestRateLimited:
    @pytest.mark.parametrize(("url", "params"), ENDPOINTS)
    async def test_long_retry_after_comes_straight_back_as_429(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        retry_waits: list[float],
        url: str,
        params: dict[str, str],
    ) -> None:
        fake_site.faults.configure({"rate_limit": {"share": 1.0, "retry_after": 30}})
        r = await client.get(url, params=params, headers=tenant.headers)
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "30"
        assert "rate limiting" in r.json()["detail"]
        assert retry_waits == [] and fake_site.stats.total == 1

    async def test_short_retry_budget_then_429(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, retry_waits: list[float]
    ) -> None:
        fake_site.faults.configure({"rate_limit": {"share": 1.0, "retry_after": 1}})
        r = await client.get(PROJECTS_URL, headers=tenant.headers)
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "1"
        assert retry_waits == [1.0, 1.0]  # two short waits (2 s budget), then the caller decides
        assert calls(fake_site, PROJECT_SEARCH) == 3

    async def test_a_passing_429_is_retried_transparently(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, app: Any
    ) -> None:
        waited: list[float] = []

        async def sleep(delay: float) -> None:  # the limit lifts while we wait
            waited.append(delay)
            fake_site.faults.configure({})

        app.state.services.passthrough.policy.sleep = sleep
        fake_site.faults.configure({"rate_limit": {"share": 1.0, "retry_after": 1}})
        r = await client.get(SEARCH_URL, params={"jql": "project = DEMO"}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert waited == [1.0]
        assert fake_site.stats.statuses == {"429": 1, "200": 1}


class TestVendorFailures:
    @pytest.mark.parametrize(("url", "params"), ENDPOINTS)
    async def test_refused_credentials_are_502_with_a_clear_detail(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        url: str,
        params: dict[str, str],
    ) -> None:
        fake_site.set_api_token(DEFAULT_ADMIN_EMAIL, "rotated-token")
        r = await client.get(url, params=params, headers=tenant.headers)
        assert r.status_code == 502
        assert "credentials" in r.json()["detail"] and "401" in r.json()["detail"]
        assert fake_site.stats.statuses == {"401": 1}

    async def test_jira_down_is_503_after_short_retries(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, retry_waits: list[float]
    ) -> None:
        fake_site.faults.configure({"error_rate": {"share": 1.0, "status": 503}})
        r = await client.get(SEARCH_URL, params={"jql": "project = DEMO"}, headers=tenant.headers)
        assert r.status_code == 503
        assert calls(fake_site, SEARCH_JQL) == 3 and len(retry_waits) == 2


class TestConnection:
    async def test_missing_connection_header(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        r = await client.get(PROJECTS_URL, headers={"X-API-KEY": tenant.api_key})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["header", "X-CONNECTION-ID"]
        assert fake_site.stats.total == 0

    async def test_another_accounts_connection_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, fake_site: Site
    ) -> None:
        assert other_tenant.connection_id is not None
        headers = {"X-API-KEY": tenant.api_key, "X-CONNECTION-ID": other_tenant.connection_id}
        r = await client.get(PROJECTS_URL, headers=headers)
        assert r.status_code == 404
        assert fake_site.stats.total == 0

    async def test_no_api_key_is_401(self, client: httpx.AsyncClient, fake_site: Site) -> None:
        r = await client.get(PROJECTS_URL, headers={"X-CONNECTION-ID": str(uuid.uuid4())})
        assert r.status_code == 401
        assert fake_site.stats.total == 0

    async def test_non_jira_connection_is_refused(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, runtime: Runtime
    ) -> None:
        assert tenant.connection_id is not None
        async with runtime.session() as session:
            await session.execute(
                update(Connection)
                .where(Connection.id == uuid.UUID(tenant.connection_id))
                .values(vendor="ZENDESK")
            )
        r = await client.get(PROJECTS_URL, headers=tenant.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["header", "X-CONNECTION-ID"]
        assert fake_site.stats.total == 0


class TestDatabaseConnection:
    async def test_released_before_jira_is_called(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, app: Any
    ) -> None:
        pool = app.state.services.runtime.engine.sync_engine.pool
        held: list[int] = []

        async def sleep(delay: float) -> None:  # runs mid-request, between two Jira calls
            held.append(pool.checkedout())
            fake_site.faults.configure({})

        app.state.services.passthrough.policy.sleep = sleep
        fake_site.faults.configure({"rate_limit": {"share": 1.0, "retry_after": 1}})
        r = await client.get(PROJECTS_URL, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert held == [0]
