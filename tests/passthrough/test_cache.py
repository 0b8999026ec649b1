"""The short-lived dropdown cache: off by default; on, it spares Jira within its TTL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import (
    ASSIGNABLE,
    CREATEMETA,
    PROJECT_SEARCH,
    PROJECTS_URL,
    SEARCH_JQL,
    SEARCH_URL,
    calls,
    issue_types_url,
    users_url,
)
from ticketbridge.config import Settings
from ticketbridge.fakejira import Site
from ticketbridge.passthrough.cache import TtlCache

TTL = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Any) -> Clock:
    clock = Clock()
    app.state.services.passthrough.cache.clock = clock
    return clock


class TestOffByDefault:
    async def test_every_call_reaches_jira(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        for _ in range(3):
            r = await client.get(PROJECTS_URL, headers=tenant.headers)
            assert r.status_code == 200
        assert calls(fake_site, PROJECT_SEARCH) == 3


class TestOn:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"passthrough_cache_ttl_secs": TTL})

    @pytest.mark.parametrize(
        ("url", "route"),
        [
            (PROJECTS_URL, PROJECT_SEARCH),
            (issue_types_url("DEMO"), CREATEMETA),
            (users_url("DEMO"), ASSIGNABLE),
        ],
    )
    async def test_second_call_is_served_without_jira(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        clock: Clock,
        url: str,
        route: str,
    ) -> None:
        first = await client.get(url, headers=tenant.headers)
        clock.now += TTL - 0.1
        second = await client.get(url, headers=tenant.headers)
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert calls(fake_site, route) == 1

    async def test_expires_after_ttl(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, clock: Clock
    ) -> None:
        await client.get(PROJECTS_URL, headers=tenant.headers)
        fake_site.add_project("NEW", "New project")
        clock.now += TTL
        r = await client.get(PROJECTS_URL, headers=tenant.headers)
        assert {p["vendor_id"] for p in r.json()["items"]} == {"DEMO", "NEW"}
        assert calls(fake_site, PROJECT_SEARCH) == 2

    async def test_other_parameters_are_other_entries(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, clock: Clock
    ) -> None:
        for params in (
            {},
            {"limit": 5},
            {"offset": 1},
            {"query": "de"},
            {"expand_issue_types": "true"},
            {},
        ):
            r = await client.get(PROJECTS_URL, params=params, headers=tenant.headers)
            assert r.status_code == 200
        assert calls(fake_site, PROJECT_SEARCH) == 5

    async def test_connections_do_not_share_entries(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        fake_site: Site,
        clock: Clock,
    ) -> None:
        await client.get(PROJECTS_URL, headers=tenant.headers)
        await client.get(PROJECTS_URL, headers=other_tenant.headers)
        assert calls(fake_site, PROJECT_SEARCH) == 2

    async def test_editing_the_connection_starts_afresh(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, clock: Clock
    ) -> None:
        await client.get(PROJECTS_URL, headers=tenant.headers)
        r = await client.patch(
            f"/v1/provisioning/connections/{tenant.connection_id}",
            json={"options": {"status_mapping": {"Done": "RESOLVED"}}},
            headers=tenant.headers,
        )
        assert r.status_code == 200, r.text
        await client.get(PROJECTS_URL, headers=tenant.headers)
        assert calls(fake_site, PROJECT_SEARCH) == 2

    async def test_errors_are_not_cached(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, clock: Clock
    ) -> None:
        assert (await client.get(users_url("LATER"), headers=tenant.headers)).status_code == 404
        fake_site.add_project("LATER", "Created since")
        assert (await client.get(users_url("LATER"), headers=tenant.headers)).status_code == 200
        assert calls(fake_site, ASSIGNABLE) == 2

    async def test_search_is_never_cached(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, clock: Clock
    ) -> None:
        for _ in range(2):
            r = await client.get(
                SEARCH_URL, params={"jql": "project = DEMO"}, headers=tenant.headers
            )
            assert r.status_code == 200
        assert calls(fake_site, SEARCH_JQL) == 2


class TestTtlCache:
    def test_least_recently_used_goes_first_when_full(self) -> None:
        clock = Clock()
        cache = TtlCache(10, max_entries=2, clock=clock)
        cache.put("a", 1)
        cache.put("b", 2)
        assert cache.get("a") == 1  # "b" is now the least recently used
        cache.put("c", 3)
        assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
        assert len(cache) == 2

    def test_zero_ttl_stores_nothing(self) -> None:
        cache = TtlCache(0)
        cache.put("a", 1)
        assert cache.get("a") is None and len(cache) == 0

    def test_expired_entries_are_dropped_on_read(self) -> None:
        clock = Clock()
        cache = TtlCache(5, clock=clock)
        cache.put("a", 1)
        clock.now += 5
        assert cache.get("a") is None and len(cache) == 0
