"""GET /v1/itsm/passthrough/projects/{project_key}/issue-types against the emulator."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import CREATEMETA, calls, issue_types_url, jira_direct
from ticketbridge.fakejira import Site

# The emulator's issue-type scheme, in createmeta order.
JIRA_TYPES = ["10001", "10002", "10003", "10004", "10000"]


class TestShape:
    async def test_items_are_jiras_issue_types_usable_as_type_vendor_id(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        vendor_transport: httpx.AsyncBaseTransport,
    ) -> None:
        r = await client.get(issue_types_url("DEMO"), headers=tenant.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 5 and body["limit"] == 100 and body["offset"] == 0
        assert [t["vendor_id"] for t in body["items"]] == JIRA_TYPES
        direct = await jira_direct(
            vendor_transport, "GET", "/rest/api/3/issue/createmeta/DEMO/issuetypes"
        )
        assert body["items"][1] == {**direct["issueTypes"][1], "vendor_id": "10002"}
        assert body["items"][1]["name"] == "Sub-task" and body["items"][1]["subtask"] is True

    async def test_project_id_works_like_the_key(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        demo = fake_site.find_project("DEMO")
        assert demo is not None
        r = await client.get(issue_types_url(demo.id), headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert [t["vendor_id"] for t in r.json()["items"]] == JIRA_TYPES


class TestPagination:
    async def test_walk_lists_each_type_once(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        seen: list[str] = []
        for offset in range(0, 10, 2):
            r = await client.get(
                issue_types_url("DEMO"),
                params={"limit": 2, "offset": offset},
                headers=tenant.headers,
            )
            assert r.status_code == 200, r.text
            assert r.json()["total"] == 5
            seen += [t["vendor_id"] for t in r.json()["items"]]
        assert seen == JIRA_TYPES

    async def test_offset_past_the_end_is_empty(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        r = await client.get(issue_types_url("DEMO"), params={"offset": 5}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [], "total": 5, "limit": 100, "offset": 5}

    @pytest.mark.parametrize(("limit", "expected"), [(1, 1), (100, 5), (101, 5), (1000, 5)])
    async def test_accepted_limits(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, limit: int, expected: int
    ) -> None:
        r = await client.get(
            issue_types_url("DEMO"), params={"limit": limit}, headers=tenant.headers
        )
        assert r.status_code == 200, r.text
        assert [t["vendor_id"] for t in r.json()["items"]] == JIRA_TYPES[:expected]
        assert calls(fake_site, CREATEMETA) == 1

    @pytest.mark.parametrize("limit", [0, 1001])
    async def test_refused_limits(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, limit: int
    ) -> None:
        r = await client.get(
            issue_types_url("DEMO"), params={"limit": limit}, headers=tenant.headers
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "limit"]
        assert fake_site.stats.total == 0


class TestUnknownProject:
    async def test_unknown_key_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        r = await client.get(issue_types_url("NOPE"), headers=tenant.headers)
        assert r.status_code == 404
        assert "NOPE" in r.json()["detail"]
        assert calls(fake_site, CREATEMETA) == 1

    @pytest.mark.parametrize("key", ["A.B", "-1", "%2E%2E", "DEMO%20X"])
    async def test_malformed_key_is_refused_before_jira(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, key: str
    ) -> None:
        # "%2E%2E" arrives as "..": pasted into Jira's path it would climb out of the route.
        r = await client.get(issue_types_url(key), headers=tenant.headers)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["path", "project_key"]
        assert fake_site.stats.total == 0

    @pytest.mark.parametrize("key", ["..", "DEMO%2F..%2Fmyself"])
    async def test_path_tricks_match_no_route(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, key: str
    ) -> None:
        r = await client.get(issue_types_url(key), headers=tenant.headers)
        assert r.status_code == 404
        assert fake_site.stats.total == 0
