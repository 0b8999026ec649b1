"""Enhanced JQL search: fields selection, nextPageToken paging, limits and errors."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from ticketbridge.fakejira import SeedSpec, Site

from .conftest import START_MS, Clock, create

JQL = "project = ACME ORDER BY key ASC"


@pytest.fixture
def seeded(site: Site) -> Site:
    site.reset(SeedSpec(projects=2, issues_per_project=120, users=10, seed=7, now_ms=START_MS))
    return site


async def walk(
    client: httpx.AsyncClient,
    jql: str,
    *,
    page: int,
    post: bool = False,
    fields: list[str] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Every issue of a query, following nextPageToken; also returns the number of pages."""
    issues: list[dict[str, Any]] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"jql": jql, "maxResults": page}
        if fields is not None:
            params["fields"] = fields
        if token:
            params["nextPageToken"] = token
        if post:
            response = await client.post("/rest/api/3/search/jql", json=params)
        else:
            response = await client.get("/rest/api/3/search/jql", params=params)
        assert response.status_code == 200, response.text
        data = response.json()
        pages += 1
        assert "total" not in data and "startAt" not in data
        issues.extend(data["issues"])
        token = data.get("nextPageToken")
        assert data["isLast"] is (token is None)
        if token is None:
            return issues, pages


class TestFields:
    async def test_default_is_id_only(self, client: httpx.AsyncClient, seeded: Site) -> None:
        data = (
            await client.get("/rest/api/3/search/jql", params={"jql": JQL, "maxResults": 3})
        ).json()
        assert data["issues"] == [{"id": "10000"}, {"id": "10002"}, {"id": "10004"}]

    async def test_named_fields_and_exclusions(
        self, client: httpx.AsyncClient, seeded: Site
    ) -> None:
        data = (
            await client.get(
                "/rest/api/3/search/jql",
                params={"jql": JQL, "maxResults": 1, "fields": ["summary", "status"]},
            )
        ).json()
        issue = data["issues"][0]
        assert issue["key"] == "ACME-1" and set(issue["fields"]) == {"summary", "status"}
        data = (
            await client.post(
                "/rest/api/3/search/jql",
                json={"jql": JQL, "maxResults": 1, "fields": ["*all", "-description"]},
            )
        ).json()
        fields = data["issues"][0]["fields"]
        assert "description" not in fields and "summary" in fields and "created" in fields

    async def test_key_only_and_names(self, client: httpx.AsyncClient, seeded: Site) -> None:
        data = (
            await client.get(
                "/rest/api/3/search/jql",
                params={"jql": JQL, "maxResults": 2, "fields": "key,summary", "expand": "names"},
            )
        ).json()
        assert [i["key"] for i in data["issues"]] == ["ACME-1", "ACME-2"]
        assert data["names"] == {"summary": "Summary"}


class TestPaging:
    @pytest.mark.parametrize("post", [False, True])
    async def test_walk_returns_every_match_once(
        self, client: httpx.AsyncClient, seeded: Site, post: bool
    ) -> None:
        issues, pages = await walk(client, "project = ACME", page=25, post=post, fields=["key"])
        keys = [i["key"] for i in issues]
        expected = {i.key for i in seeded.issues.values() if i.key.startswith("ACME-")}
        assert len(keys) == len(set(keys)) == len(expected) == 120
        assert set(keys) == expected
        assert pages == 5

    async def test_paging_reuses_the_first_evaluation(
        self, client: httpx.AsyncClient, seeded: Site
    ) -> None:
        before = seeded.search.evaluations
        _, pages = await walk(client, JQL, page=10)
        assert pages == 12
        assert seeded.search.evaluations == before + 1

    async def test_snapshot_skips_deleted_and_shows_current_values(
        self, client: httpx.AsyncClient, seeded: Site
    ) -> None:
        first = (
            await client.get("/rest/api/3/search/jql", params={"jql": JQL, "maxResults": 2})
        ).json()
        seeded.delete_issue(seeded.get_issue("ACME-3"), delete_subtasks=True)
        seeded.edit_issue(seeded.get_issue("ACME-4"), {"fields": {"summary": "Edited"}})
        second = (
            await client.get(
                "/rest/api/3/search/jql",
                params={
                    "jql": JQL,
                    "maxResults": 2,
                    "fields": "summary",
                    "nextPageToken": first["nextPageToken"],
                },
            )
        ).json()
        assert [(i["key"], i["fields"]["summary"]) for i in second["issues"]] == [
            ("ACME-4", "Edited")
        ]

    async def test_token_belongs_to_its_query(
        self, client: httpx.AsyncClient, seeded: Site
    ) -> None:
        first = (
            await client.get("/rest/api/3/search/jql", params={"jql": JQL, "maxResults": 2})
        ).json()
        response = await client.get(
            "/rest/api/3/search/jql",
            params={"jql": "project = OPS", "nextPageToken": first["nextPageToken"]},
        )
        assert response.status_code == 400

    @pytest.mark.parametrize("token", ["bogus", "eyJ0b2tlbiI6MX0"])
    async def test_unknown_token_is_400(
        self, client: httpx.AsyncClient, seeded: Site, token: str
    ) -> None:
        response = await client.get(
            "/rest/api/3/search/jql", params={"jql": JQL, "nextPageToken": token}
        )
        assert response.status_code == 400
        assert response.json()["errorMessages"]

    async def test_expired_token_is_400(
        self, client: httpx.AsyncClient, seeded: Site, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first = (
            await client.get("/rest/api/3/search/jql", params={"jql": JQL, "maxResults": 2})
        ).json()
        later = time.monotonic() + 3600
        monkeypatch.setattr("ticketbridge.fakejira.search.time.monotonic", lambda: later)
        response = await client.get(
            "/rest/api/3/search/jql", params={"jql": JQL, "nextPageToken": first["nextPageToken"]}
        )
        assert response.status_code == 400

    async def test_page_size_caps(self, client: httpx.AsyncClient, seeded: Site) -> None:
        ids = (
            await client.get(
                "/rest/api/3/search/jql", params={"jql": "project = ACME", "maxResults": 5000}
            )
        ).json()
        assert len(ids["issues"]) == 120
        full = (
            await client.get(
                "/rest/api/3/search/jql",
                params={"jql": "project in (ACME, OPS)", "maxResults": 5000, "fields": "summary"},
            )
        ).json()
        assert len(full["issues"]) == 100 and full["isLast"] is False


class TestErrors:
    @pytest.mark.parametrize("size", [0, -1, 5001])
    async def test_max_results_out_of_range(
        self, client: httpx.AsyncClient, seeded: Site, size: int
    ) -> None:
        response = await client.get(
            "/rest/api/3/search/jql", params={"jql": JQL, "maxResults": size}
        )
        assert response.status_code == 400

    async def test_invalid_jql(self, client: httpx.AsyncClient, seeded: Site) -> None:
        response = await client.get("/rest/api/3/search/jql", params={"jql": "project = = x"})
        assert response.status_code == 400
        body = response.json()
        assert body["errors"] == {} and len(body["errorMessages"]) == 1

    @pytest.mark.parametrize("jql", ["", "order by key desc"])
    async def test_unbounded_query(self, client: httpx.AsyncClient, seeded: Site, jql: str) -> None:
        response = await client.get("/rest/api/3/search/jql", params={"jql": jql})
        assert response.status_code == 400
        assert "Unbounded" in response.json()["errorMessages"][0]

    async def test_post_reads_only_the_body(self, client: httpx.AsyncClient, seeded: Site) -> None:
        response = await client.post("/rest/api/3/search/jql?jql=project%3DACME", json={})
        assert response.status_code == 400
        unknown = await client.post("/rest/api/3/search/jql", json={"jql": JQL, "startAt": 5})
        assert unknown.status_code == 400


class TestSemantics:
    async def test_current_user_and_updated_since(
        self, client: httpx.AsyncClient, site: Site, clock: Clock
    ) -> None:
        admin = site.user_by_email("admin@example.com")
        assert admin is not None
        await create(client, "mine", assignee={"accountId": admin.account_id})
        await create(client, "not mine")
        clock.advance(120)
        await create(client, "later")
        mine = (
            await client.get(
                "/rest/api/3/search/jql",
                params={"jql": "assignee = currentUser()", "fields": "summary"},
            )
        ).json()
        assert [i["fields"]["summary"] for i in mine["issues"]] == ["mine"]
        since = START_MS + 60_000
        recent = (
            await client.get(
                "/rest/api/3/search/jql",
                params={
                    "jql": f"project = DEMO AND updated >= {since} ORDER BY updated ASC, key ASC",
                    "fields": "summary",
                },
            )
        ).json()
        assert [i["fields"]["summary"] for i in recent["issues"]] == ["later"]

    async def test_approximate_count(self, client: httpx.AsyncClient, seeded: Site) -> None:
        response = await client.post(
            "/rest/api/3/search/approximate-count", json={"jql": "project = ACME"}
        )
        assert response.status_code == 200 and response.json() == {"count": 120}
        bad = await client.post("/rest/api/3/search/approximate-count", json={"jql": "a = = b"})
        assert bad.status_code == 400
