"""Passthrough on a ServiceNow connection: the task table as the one project, its categories,
assignable (itil) users filtered by ``query``, and encoded-query search in ``query`` with
signed cursors over ``sysparm_offset``; ``jql`` is a 422 naming ``query``."""

from __future__ import annotations

import httpx

from tests.fixtures.servicenow import servicenow_calls
from tests.fixtures.tenants import Tenant
from tests.servicenow.conftest import People, created
from ticketbridge.fakeservicenow import Instance

BASE = "/v1/itsm/passthrough"
SEARCH = f"{BASE}/tickets/search"


async def get(
    client: httpx.AsyncClient, tenant: Tenant, path: str, **params: str
) -> httpx.Response:
    return await client.get(path, params=params, headers=tenant.headers)


class TestDropdowns:
    async def test_projects_are_the_task_table(
        self, client: httpx.AsyncClient, snow: Tenant
    ) -> None:
        r = await get(client, snow, f"{BASE}/projects", expand_issue_types="true")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == 1
        [project] = body["items"]
        assert (project["vendor_id"], project["name"]) == ("incident", "Incident")
        assert project["project_type"] == "task_table"
        assert "inquiry" in {t["vendor_id"] for t in project["issue_types"]}
        r = await get(client, snow, f"{BASE}/projects", query="change")
        assert r.json()["items"] == [] and r.json()["total"] == 0

    async def test_issue_types_are_the_category_choices(
        self, client: httpx.AsyncClient, snow: Tenant
    ) -> None:
        r = await get(client, snow, f"{BASE}/projects/incident/issue-types")
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert {(t["vendor_id"], t["label"]) for t in items} >= {
            ("inquiry", "Inquiry / Help"),
            ("network", "Network"),
        }
        r = await get(client, snow, f"{BASE}/projects/problem/issue-types")
        assert r.status_code == 404

    async def test_assignable_users_are_active_itil_users(
        self, client: httpx.AsyncClient, snow: Tenant, people: People, fake_instance: Instance
    ) -> None:
        fake_instance.add_user("gone", "Gone User", roles=("itil",), active=False)
        r = await get(client, snow, f"{BASE}/projects/incident/assignable-users")
        assert r.status_code == 200, r.text
        ids = [u["vendor_id"] for u in r.json()["items"]]
        assert set(ids) == {people.integration, people.dev, people.ops}
        names = [u["name"] for u in r.json()["items"]]
        assert names == sorted(names)
        r = await get(client, snow, f"{BASE}/projects/incident/assignable-users", query="ops")
        assert [u["vendor_id"] for u in r.json()["items"]] == [people.ops]
        assert r.json()["items"][0]["email"] == "ops@example.com"
        r = await get(client, snow, f"{BASE}/projects/incident/assignable-users", query="dev@exa")
        assert [u["vendor_id"] for u in r.json()["items"]] == [people.dev]


class TestSearch:
    async def test_encoded_query_in_query_pages_with_signed_cursors(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        for i in range(5):
            await created(client, snow, name=f"Disk {i}", type_vendor_id="hardware")
        await created(client, snow, name="Other", type_vendor_id="software")
        query = "category=hardware^ORDERBYnumber"
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"query": query, "limit": "2"}
            if cursor:
                params["cursor"] = cursor
            r = await get(client, snow, SEARCH, **params)
            assert r.status_code == 200, r.text
            body = r.json()
            seen += [item["key"] for item in body["items"]]
            assert all(item["fields"]["category"] == "hardware" for item in body["items"])
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert pages == 3 and len(seen) == 5 and seen == sorted(seen)
        # A cursor belongs to its query: another query cannot use it.
        first = (await get(client, snow, SEARCH, query=query, limit="2")).json()["next_cursor"]
        r = await get(client, snow, SEARCH, query="category=software", limit="2", cursor=first)
        assert r.status_code == 422 and "cursor" in r.text

    async def test_fields_and_the_normalized_view(
        self, client: httpx.AsyncClient, snow: Tenant
    ) -> None:
        ticket = await created(client, snow, name="Fields", priority="LOW")
        r = await get(
            client,
            snow,
            SEARCH,
            query="short_description=Fields",
            fields="short_description,priority",
            normalized="true",
        )
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert item["id"] == ticket["vendor_attributes"]["id"]
        assert set(item["fields"]) == {"short_description", "priority"}
        assert item["normalized"]["priority"] == "LOW"
        assert item["normalized"]["vendor_attributes"]["vendor"] == "SERVICENOW"

    async def test_jql_is_refused_naming_query(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        before = fake_instance.stats.total
        r = await get(client, snow, SEARCH, jql="project = OPS")
        assert r.status_code == 422
        body = r.json()
        assert body["errors"][0]["loc"] == ["query", "jql"]
        assert "'query'" in body["detail"] and "ServiceNow" in body["detail"]
        assert fake_instance.stats.total == before
        r = await get(client, snow, SEARCH)
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "query"]

    async def test_one_vendor_call_per_page(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        await created(client, snow, name="A")
        before = servicenow_calls(fake_instance, "GET /api/now/table/incident")
        r = await get(client, snow, SEARCH, query="active=true")
        assert r.status_code == 200 and len(r.json()["items"]) == 1
        assert servicenow_calls(fake_instance, "GET /api/now/table/incident") == before + 1
