"""The vendor-neutral seam as a Jira connection sees it: the groups endpoints answer an empty
store (Jira has no assignment groups), and the passthrough search takes Jira's ``jql`` only,
refusing another vendor's ``query`` parameter with a 422 that says which one to use."""

from __future__ import annotations

import uuid

import httpx

from tests.fixtures.tenants import Tenant
from ticketbridge.fakejira import Site

GROUPS = "/v1/itsm/groups"
SEARCH = "/v1/itsm/passthrough/tickets/search"


class TestGroupsOfAVendorWithoutGroups:
    async def test_offset_and_cursor_pages_are_empty(
        self, client: httpx.AsyncClient, synced: Tenant
    ) -> None:
        r = await client.get(GROUPS, headers=synced.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [], "total": 0, "limit": 100, "offset": 0}
        r = await client.get(GROUPS, params={"enableCursor": "true"}, headers=synced.headers)
        assert r.json() == {"items": [], "next_cursor": None, "previous_cursor": None}

    async def test_unknown_group_is_404_and_bad_id_422(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        r = await client.get(f"{GROUPS}/{uuid.uuid4()}", headers=tenant.headers)
        assert r.status_code == 404
        r = await client.get(f"{GROUPS}/not-a-uuid", headers=tenant.headers)
        assert r.status_code == 422 and "group_id" in r.text

    async def test_unknown_filter_and_cursor_with_updated_since_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        r = await client.get(GROUPS, params={"colour": "red"}, headers=tenant.headers)
        assert r.status_code == 422 and "colour" in r.text
        r = await client.get(
            GROUPS,
            params={"enableCursor": "true", "updatedSince": "2025-01-01T00:00:00Z"},
            headers=tenant.headers,
        )
        assert r.status_code == 422 and "updatedSince" in r.text


class TestSearchParameter:
    async def test_query_is_refused_for_jira_naming_jql(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        before = fake_site.stats.total
        r = await client.get(SEARCH, params={"query": "active=true"}, headers=tenant.headers)
        assert r.status_code == 422
        body = r.json()
        assert body["errors"][0]["loc"] == ["query", "query"]
        assert "'jql'" in body["detail"] and "Jira" in body["detail"]
        assert fake_site.stats.total == before

    async def test_jql_still_searches(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        r = await client.get(SEARCH, params={"jql": "project = DEMO"}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [], "next_cursor": None}
