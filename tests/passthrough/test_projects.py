"""GET /v1/itsm/passthrough/projects against the emulator."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import PROJECT_SEARCH, PROJECTS_URL, calls, jira_direct
from ticketbridge.fakejira import SeedSpec, Site


def jira_order(fake_site: Site) -> list[str]:
    """Project keys in the order Jira's project/search lists them (by name)."""
    return [p.key for p in sorted(fake_site.projects.values(), key=lambda p: p.name.lower())]


@pytest.fixture
def many(fake_site: Site) -> Site:
    fake_site.reset(SeedSpec(projects=250, issues_per_project=0, users=3))
    return fake_site


class TestShape:
    async def test_items_are_jiras_projects_plus_the_helpers(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        vendor_transport: httpx.AsyncBaseTransport,
    ) -> None:
        fake_site.add_project("OPS", "Operations", simplified=True)
        r = await client.get(PROJECTS_URL, headers=tenant.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 2 and body["limit"] == 100 and body["offset"] == 0
        ops = next(p for p in body["items"] if p["vendor_id"] == "OPS")
        direct = await jira_direct(vendor_transport, "GET", "/rest/api/3/project/search")
        jira_ops = next(p for p in direct["values"] if p["key"] == "OPS")
        assert ops == {
            **jira_ops,  # Jira's names: id, key, name, projectTypeKey, style, self...
            "vendor_id": "OPS",
            "project_type": "software",
            "issue_types": None,
        }
        assert ops["id"] == fake_site.find_project("OPS").id  # type: ignore[union-attr]

    async def test_expand_issue_types_embeds_them(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        vendor_transport: httpx.AsyncBaseTransport,
    ) -> None:
        r = await client.get(
            PROJECTS_URL, params={"expand_issue_types": "true"}, headers=tenant.headers
        )
        assert r.status_code == 200, r.text
        (demo,) = r.json()["items"]
        assert "issueTypes" not in demo  # they are the issue_types items
        types = {t["name"]: t for t in demo["issue_types"]}
        assert set(types) == {"Task", "Sub-task", "Story", "Bug", "Epic"}
        assert types["Sub-task"]["subtask"] is True and types["Task"]["subtask"] is False
        direct = await jira_direct(
            vendor_transport, "GET", "/rest/api/3/project/search", params={"expand": "issueTypes"}
        )
        jira_bug = next(t for t in direct["values"][0]["issueTypes"] if t["name"] == "Bug")
        assert types["Bug"] == {**jira_bug, "vendor_id": "10004"}


class TestPagination:
    async def test_walk_to_the_end_lists_each_project_once_in_jira_order(
        self, client: httpx.AsyncClient, tenant: Tenant, many: Site
    ) -> None:
        seen: list[str] = []
        offset = 0
        while True:
            r = await client.get(
                PROJECTS_URL, params={"limit": 37, "offset": offset}, headers=tenant.headers
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["total"] == 250
            if not body["items"]:
                break
            seen += [p["vendor_id"] for p in body["items"]]
            offset += 37
        assert seen == jira_order(many)

    async def test_limit_above_jira_page_size_is_served_from_several_jira_pages(
        self, client: httpx.AsyncClient, tenant: Tenant, many: Site
    ) -> None:
        r = await client.get(
            PROJECTS_URL, params={"limit": 1000, "offset": 5}, headers=tenant.headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert [p["vendor_id"] for p in body["items"]] == jira_order(many)[5:]
        assert body["total"] == 250 and body["limit"] == 1000 and body["offset"] == 5
        assert calls(many, PROJECT_SEARCH) == 3  # startAt 5, 105, 205 (Jira caps at 100)

    async def test_window_ending_inside_a_jira_page(
        self, client: httpx.AsyncClient, tenant: Tenant, many: Site
    ) -> None:
        r = await client.get(
            PROJECTS_URL, params={"limit": 150, "offset": 90}, headers=tenant.headers
        )
        assert r.status_code == 200, r.text
        assert [p["vendor_id"] for p in r.json()["items"]] == jira_order(many)[90:240]
        assert calls(many, PROJECT_SEARCH) == 2

    async def test_offset_past_the_end_is_an_empty_page(
        self, client: httpx.AsyncClient, tenant: Tenant, many: Site
    ) -> None:
        r = await client.get(
            PROJECTS_URL, params={"limit": 500, "offset": 400}, headers=tenant.headers
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [], "total": 250, "limit": 500, "offset": 400}
        assert calls(many, PROJECT_SEARCH) == 1


class TestLimits:
    @pytest.mark.parametrize(
        ("limit", "expected", "jira_calls"), [(1, 1, 1), (100, 100, 1), (101, 101, 2)]
    )
    async def test_accepted_limits(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        many: Site,
        limit: int,
        expected: int,
        jira_calls: int,
    ) -> None:
        r = await client.get(PROJECTS_URL, params={"limit": limit}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert [p["vendor_id"] for p in r.json()["items"]] == jira_order(many)[:expected]
        assert calls(many, PROJECT_SEARCH) == jira_calls

    @pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}])
    async def test_refused_limits_name_the_field(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, params: dict[str, int]
    ) -> None:
        r = await client.get(PROJECTS_URL, params=params, headers=tenant.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", next(iter(params))]
        assert fake_site.stats.total == 0


class TestQuery:
    async def test_query_filters_on_key_or_name(
        self, client: httpx.AsyncClient, tenant: Tenant, many: Site
    ) -> None:
        r = await client.get(PROJECTS_URL, params={"query": "mobile"}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert [p["vendor_id"] for p in r.json()["items"]] == ["MOB"]
        assert r.json()["total"] == 1

    async def test_query_matching_nothing_is_empty(
        self, client: httpx.AsyncClient, tenant: Tenant, many: Site
    ) -> None:
        r = await client.get(PROJECTS_URL, params={"query": "zzz-none"}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [], "total": 0, "limit": 100, "offset": 0}
