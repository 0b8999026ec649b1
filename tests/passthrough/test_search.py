"""GET /v1/itsm/passthrough/tickets/search against the emulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import SEARCH_JQL, SEARCH_URL, calls, jira_direct
from ticketbridge.connectors.jira.passthrough_mapping import NORMALIZED_FIELDS
from ticketbridge.fakejira import DEFAULT_ADMIN_ACCOUNT_ID, SeedSpec, Site

DESCRIPTION = {
    "type": "doc",
    "version": 1,
    "content": [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Smoke "},
                {"type": "text", "text": "everywhere", "marks": [{"type": "strong"}]},
            ],
        }
    ],
}


def make_issue(fake_site: Site, summary: str = "Printer on fire", **fields: Any) -> str:
    body = {
        "fields": {
            "project": {"key": "DEMO"},
            "issuetype": {"id": "10004"},
            "summary": summary,
            **fields,
        }
    }
    admin = fake_site.users[DEFAULT_ADMIN_ACCOUNT_ID]
    return fake_site.create_issue(body, actor=admin).key


async def search(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> httpx.Response:
    return await client.get(SEARCH_URL, params=params, headers=tenant.headers)


async def assert_refused(
    client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, field: str, **params: Any
) -> None:
    """A 422 naming the query parameter ``field``, and Jira was not called."""
    r = await search(client, tenant, **params)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", field]
    assert fake_site.stats.total == 0


@pytest.fixture
def thousand(fake_site: Site) -> list[str]:
    """1,000 ACME issues (and 1,000 OPS ones that must not match); ACME keys in id order."""
    fake_site.reset(SeedSpec(projects=2, issues_per_project=1000, users=10))
    acme = fake_site.find_project("ACME")
    assert acme is not None
    return [
        i.key
        for i in sorted(fake_site.issues.values(), key=lambda i: i.id)
        if i.project_id == acme.id
    ]


class TestShape:
    async def test_item_is_jiras_issue_as_jira_returns_it(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        vendor_transport: httpx.AsyncBaseTransport,
    ) -> None:
        key = make_issue(
            fake_site, description=DESCRIPTION, assignee={"accountId": DEFAULT_ADMIN_ACCOUNT_ID}
        )
        r = await search(client, tenant, jql="project = DEMO")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["next_cursor"] is None
        (item,) = body["items"]
        # What a client of Jira reads: key, fields.summary, ADF description, user objects.
        assert item["key"] == key and item["fields"]["summary"] == "Printer on fire"
        assert item["fields"]["description"] == DESCRIPTION
        assert item["fields"]["assignee"]["accountId"] == DEFAULT_ADMIN_ACCOUNT_ID
        assert "normalized" not in item and "vendor" not in item
        direct = await jira_direct(
            vendor_transport,
            "POST",
            "/rest/api/3/search/jql",
            json={"jql": "project = DEMO", "fields": list(NORMALIZED_FIELDS)},
        )
        assert item == direct["issues"][0]  # id, key, self, expand, fields: Jira's own

    async def test_normalized_true_adds_the_normalized_view_beside_fields(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        key = make_issue(
            fake_site,
            description=DESCRIPTION,
            labels=["ops", "urgent"],
            duedate="2024-07-01",
            priority={"id": "1"},
            assignee={"accountId": DEFAULT_ADMIN_ACCOUNT_ID},
        )
        stored = fake_site.get_issue(key)
        r = await search(client, tenant, jql="project = DEMO", normalized="true")
        assert r.status_code == 200, r.text
        (item,) = r.json()["items"]
        assert item["key"] == key and item["id"] == str(stored.id)
        assert item["fields"]["description"] == DESCRIPTION
        assert item["fields"]["status"]["name"] == "To Do"
        assert set(item["fields"]) == set(NORMALIZED_FIELDS) - {"parent"}  # no parent here
        normalized = item["normalized"]
        assert normalized["vendor_attributes"]["created_at"] == normalized["ticket_created_at"]
        assert normalized["vendor_attributes"]["updated_at"] is not None
        for moving in ("ticket_created_at", "status_updated_at"):
            assert normalized.pop(moving) is not None
        normalized["vendor_attributes"].pop("created_at")
        normalized["vendor_attributes"].pop("updated_at")
        assert normalized == {
            "name": "Printer on fire",
            "description": "Smoke **everywhere**",
            "status": "TODO",
            "priority": "CRITICAL",
            "type": "Bug",
            "type_vendor_id": "10004",
            "active": True,
            "url": f"https://acme.atlassian.net/browse/{key}",
            "identifier": key,
            "project_vendor_id": "DEMO",
            "assigned_user_vendor_id": DEFAULT_ADMIN_ACCOUNT_ID,
            "created_by_user_vendor_id": DEFAULT_ADMIN_ACCOUNT_ID,
            "parent_ticket_vendor_id": None,
            "due_date": "2024-07-01",
            "closed_at": None,
            "tags": ["ops", "urgent"],
            "vendor_attributes": {
                "id": str(stored.id),
                "vendor": "JIRA",
                "type": "Bug",
                "type_id": "10004",
                "status": "To Do",
                "priority": "Highest",
                "data": {
                    "vendor": "JIRA",
                    "id": str(stored.id),
                    "key": key,
                    "statusCategory": "new",
                    "customFields": {},
                },
            },
        }

    async def test_no_match_is_an_empty_last_page(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        r = await search(client, tenant, jql="project = DEMO")
        assert r.status_code == 200, r.text
        assert r.json() == {"items": [], "next_cursor": None}


class TestFields:
    async def test_listed_fields_are_exactly_what_jira_returns_for_them(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        make_issue(fake_site, customfield_10030="CUST-42", labels=["x"])
        r = await search(client, tenant, jql="project = DEMO", fields="summary, customfield_10030")
        assert r.status_code == 200, r.text
        (item,) = r.json()["items"]
        assert item["fields"] == {"summary": "Printer on fire", "customfield_10030": "CUST-42"}
        assert "normalized" not in item

    async def test_listed_fields_with_normalized_view_that_stays_whole(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        make_issue(fake_site, customfield_10030="CUST-42", labels=["x"])
        r = await search(
            client,
            tenant,
            jql="project = DEMO",
            fields="summary, customfield_10030",
            normalized="true",
        )
        assert r.status_code == 200, r.text
        (item,) = r.json()["items"]
        assert item["fields"] == {"summary": "Printer on fire", "customfield_10030": "CUST-42"}
        normalized = item["normalized"]
        assert normalized["status"] == "TODO" and normalized["tags"] == ["x"]
        assert normalized["vendor_attributes"]["data"]["customFields"] == {
            "customfield_10030": "CUST-42"
        }

    @pytest.mark.parametrize("normalized", ["false", "true"])
    async def test_all_minus_excluded(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, normalized: str
    ) -> None:
        make_issue(fake_site, description=DESCRIPTION)
        r = await search(
            client,
            tenant,
            jql="project = DEMO",
            fields="*all,-description,-labels",
            normalized=normalized,
        )
        assert r.status_code == 200, r.text
        (item,) = r.json()["items"]
        assert "description" not in item["fields"]
        assert "labels" not in item["fields"]
        assert "resolution" in item["fields"]  # not in the default set
        if normalized == "true":
            assert item["normalized"]["description"] == "Smoke **everywhere**"

    @pytest.mark.parametrize(
        "fields",
        ["summary,bad field", "summary;drop", ",".join(f"customfield_{n}" for n in range(101))],
    )
    async def test_malformed_fields_name_the_field(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, fields: str
    ) -> None:
        await assert_refused(
            client, tenant, fake_site, "fields", jql="project = DEMO", fields=fields
        )


class TestJql:
    @pytest.mark.parametrize("params", [{}, {"jql": ""}, {"jql": "x" * 5001}])
    async def test_missing_empty_or_too_long_names_jql(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, params: dict[str, str]
    ) -> None:
        await assert_refused(client, tenant, fake_site, "jql", **params)

    async def test_jql_of_exactly_5000_characters_is_sent(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        make_issue(fake_site)
        jql = "project = DEMO".ljust(5000)
        r = await search(client, tenant, jql=jql)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 1

    @pytest.mark.parametrize("jql", ["project = = DEMO", "project in (DEMO", "nosuchfield = 1"])
    async def test_invalid_jql_carries_jiras_message_verbatim(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        fake_site: Site,
        vendor_transport: httpx.AsyncBaseTransport,
        jql: str,
    ) -> None:
        async with httpx.AsyncClient(
            transport=vendor_transport,
            base_url="https://acme.atlassian.net",
            auth=("admin@example.com", "fake-token"),
        ) as jira:
            direct = await jira.post("/rest/api/3/search/jql", json={"jql": jql})
        assert direct.status_code == 400
        (message,) = direct.json()["errorMessages"]
        r = await search(client, tenant, jql=jql)
        assert r.status_code == 422
        assert r.json() == {
            "detail": f"query.jql: {message}",
            "errors": [{"loc": ["query", "jql"], "msg": message, "type": "value_error"}],
        }


class TestLimits:
    @pytest.mark.parametrize("limit", [1, 37, 100])
    async def test_accepted_limits(
        self, client: httpx.AsyncClient, tenant: Tenant, thousand: list[str], limit: int
    ) -> None:
        r = await search(client, tenant, jql="project = ACME ORDER BY id ASC", limit=limit)
        assert r.status_code == 200, r.text
        assert [i["key"] for i in r.json()["items"]] == thousand[:limit]
        assert r.json()["next_cursor"]

    async def test_default_limit_is_50(
        self, client: httpx.AsyncClient, tenant: Tenant, thousand: list[str]
    ) -> None:
        r = await search(client, tenant, jql="project = ACME ORDER BY id ASC")
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 50

    @pytest.mark.parametrize("limit", [0, 101, -1])
    async def test_refused_limits_name_limit(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, limit: int
    ) -> None:
        await assert_refused(client, tenant, fake_site, "limit", jql="project = DEMO", limit=limit)


class TestWalk:
    @pytest.mark.slow
    async def test_thousand_issues_by_37_each_once_in_order(
        self, client: httpx.AsyncClient, tenant: Tenant, thousand: list[str], fake_site: Site
    ) -> None:
        params: dict[str, Any] = {
            "jql": "project = ACME ORDER BY id ASC",
            "limit": 37,
            "normalized": "true",
        }
        seen: list[str] = []
        pages = 0
        while True:
            r = await search(client, tenant, **params)
            assert r.status_code == 200, r.text
            body = r.json()
            pages += 1
            seen += [i["key"] for i in body["items"]]
            assert all(i["normalized"]["identifier"] == i["key"] for i in body["items"])
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]
        assert seen == thousand
        assert pages == 28  # ceil(1000 / 37)
        assert calls(fake_site, SEARCH_JQL) == 28
