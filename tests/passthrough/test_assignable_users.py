"""GET /v1/itsm/passthrough/projects/{project_key}/assignable-users against the emulator."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import ASSIGNABLE, calls, jira_direct, users_url
from ticketbridge.fakejira import DEFAULT_ADMIN_ACCOUNT_ID, SeedSpec, Site


@pytest.fixture
def people(fake_site: Site) -> Site:
    fake_site.reset(SeedSpec(projects=1, issues_per_project=0, users=60))
    return fake_site


def assignable(fake_site: Site) -> list[str]:
    """Active users in the emulator's order (display name, then account id)."""
    users = sorted(
        (u for u in fake_site.users.values() if u.active),
        key=lambda u: (u.display_name.lower(), u.account_id),
    )
    return [u.account_id for u in users]


class TestShape:
    async def test_items_are_jiras_users_usable_as_assigned_user_vendor_id(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        vendor_transport: httpx.AsyncBaseTransport,
    ) -> None:
        fake_site.add_user("zoe@example.com", "Zoë Öberg")
        r = await client.get(users_url("DEMO"), headers=tenant.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] is None and body["limit"] == 100 and body["offset"] == 0
        by_name = {u["displayName"]: u for u in body["items"]}
        direct = await jira_direct(
            vendor_transport,
            "GET",
            "/rest/api/3/user/assignable/search",
            params={"project": "DEMO"},
        )
        jira_admin = next(u for u in direct if u["accountId"] == DEFAULT_ADMIN_ACCOUNT_ID)
        assert by_name["Site Admin"] == {**jira_admin, "vendor_id": DEFAULT_ADMIN_ACCOUNT_ID}
        assert by_name["Site Admin"]["emailAddress"] == "admin@example.com"
        assert by_name["Zoë Öberg"]["emailAddress"] == "zoe@example.com"

    async def test_inactive_users_are_not_offered(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        gone = fake_site.add_user("gone@example.com", "Gone User", active=False)
        r = await client.get(users_url("DEMO"), headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert gone.account_id not in {u["vendor_id"] for u in r.json()["items"]}


class TestPagination:
    async def test_walk_to_an_empty_page_lists_each_user_once(
        self, client: httpx.AsyncClient, tenant: Tenant, people: Site
    ) -> None:
        seen: list[str] = []
        offset = 0
        while True:
            r = await client.get(
                users_url("ACME"), params={"limit": 7, "offset": offset}, headers=tenant.headers
            )
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            if not items:
                break
            seen += [u["vendor_id"] for u in items]
            offset += 7
        assert seen == assignable(people)
        assert len(seen) > 40

    @pytest.mark.parametrize("limit", [1, 100, 101])
    async def test_accepted_limits(
        self, client: httpx.AsyncClient, tenant: Tenant, people: Site, limit: int
    ) -> None:
        r = await client.get(users_url("ACME"), params={"limit": limit}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert [u["vendor_id"] for u in r.json()["items"]] == assignable(people)[:limit]
        assert calls(people, ASSIGNABLE) == 1

    @pytest.mark.parametrize("limit", [0, 1001])
    async def test_refused_limits(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, limit: int
    ) -> None:
        r = await client.get(users_url("DEMO"), params={"limit": limit}, headers=tenant.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "limit"]
        assert fake_site.stats.total == 0

    async def test_offset_past_the_end_is_empty(
        self, client: httpx.AsyncClient, tenant: Tenant, people: Site
    ) -> None:
        r = await client.get(users_url("ACME"), params={"offset": 500}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [], "total": None, "limit": 100, "offset": 500}


class TestQuery:
    async def test_query_matches_name_or_email_prefix(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        fake_site.add_user("kim.lee@example.com", "Kim Lee")
        fake_site.add_user("jo@example.com", "Jo Kimura")
        fake_site.add_user("bob@example.com", "Bob Stone")
        r = await client.get(users_url("DEMO"), params={"query": "kim"}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert sorted(u["displayName"] for u in r.json()["items"]) == ["Jo Kimura", "Kim Lee"]

    async def test_query_matching_nobody_is_empty(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        r = await client.get(users_url("DEMO"), params={"query": "qqq"}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json()["items"] == []


class TestUnknownProject:
    async def test_unknown_key_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        r = await client.get(users_url("NOPE"), headers=tenant.headers)
        assert r.status_code == 404
        assert "NOPE" in r.json()["detail"]
        assert calls(fake_site, ASSIGNABLE) == 1
