"""Issue entity properties: set with ``properties`` on create (single and bulk), returned by
the search and by ``GET /issue`` for the requested keys only, as Jira Cloud does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.contract.openapi import validate_response
from ticketbridge.fakejira import Site

SEARCH = "/rest/api/3/search/jql"
PROP = {"key": "ticketbridge", "value": {"identifier": "EXT-1"}}


def body(summary: str, **extra: Any) -> dict[str, Any]:
    fields = {"project": {"key": "DEMO"}, "issuetype": {"id": "10001"}, "summary": summary}
    return {"fields": fields, **extra}


async def test_search_and_get_return_the_requested_properties(
    client: httpx.AsyncClient, site: Site
) -> None:
    one = await client.post("/rest/api/3/issue", json=body("one", properties=[PROP]))
    bulk = await client.post(
        "/rest/api/3/issue/bulk", json={"issueUpdates": [body("two", properties=[PROP])]}
    )
    plain = await client.post("/rest/api/3/issue", json=body("three"))
    assert (one.status_code, bulk.status_code, plain.status_code) == (201, 201, 201)

    r = await client.post(
        SEARCH,
        json={
            "jql": "project = DEMO ORDER BY key ASC",
            "fields": ["summary"],
            "properties": ["ticketbridge", "other"],
        },
    )
    assert r.status_code == 200, r.text
    validate_response(SEARCH, "post", 200, r.json())
    props = [i["properties"] for i in r.json()["issues"]]
    assert props == [{"ticketbridge": PROP["value"]}] * 2 + [{}]

    without = await client.post(SEARCH, json={"jql": "project = DEMO", "fields": ["summary"]})
    assert all("properties" not in i for i in without.json()["issues"])
    got = await client.get(f"/rest/api/3/issue/{one.json()['key']}", params={"properties": "*all"})
    assert got.json()["properties"] == {"ticketbridge": PROP["value"]}


async def test_bad_properties_are_refused(client: httpx.AsyncClient, site: Site) -> None:
    bad = await client.post("/rest/api/3/issue", json=body("x", properties=[{"value": 1}]))
    too_many = await client.post(
        SEARCH, json={"jql": "project = DEMO", "properties": ["a", "b", "c", "d", "e", "f"]}
    )
    assert (bad.status_code, too_many.status_code) == (400, 400)
    assert site.issues_count() == 0
