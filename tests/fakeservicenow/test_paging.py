"""Offset paging: limits, offsets, X-Total-Count and the Link header."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from ticketbridge.fakeservicenow import Instance


def links(response: httpx.Response) -> dict[str, dict[str, list[str]]]:
    out = {}
    for part in response.headers["Link"].split(","):
        url, _, rel = part.partition(";rel=")
        out[rel.strip('"')] = parse_qs(urlsplit(url.strip("<>")).query)
    return out


def fill(instance: Instance, count: int) -> None:
    for n in range(count):
        instance.insert("incident", {"short_description": f"row {n}"})


async def test_pages_carry_total_and_links(client: httpx.AsyncClient, instance: Instance) -> None:
    fill(instance, 25)
    response = await client.get(
        "/api/now/table/incident",
        params={"sysparm_limit": "10", "sysparm_offset": "10", "sysparm_query": "active=true"},
    )
    assert len(response.json()["result"]) == 10
    assert response.headers["X-Total-Count"] == "25"
    found = links(response)
    assert {rel: q["sysparm_offset"] for rel, q in found.items()} == {
        "first": ["0"],
        "prev": ["0"],
        "next": ["20"],
        "last": ["20"],
    }
    assert all(q["sysparm_query"] == ["active=true"] for q in found.values())
    assert all(q["sysparm_limit"] == ["10"] for q in found.values())


async def test_last_page_has_no_next(client: httpx.AsyncClient, instance: Instance) -> None:
    fill(instance, 25)
    response = await client.get(
        "/api/now/table/incident", params={"sysparm_limit": "10", "sysparm_offset": "20"}
    )
    assert len(response.json()["result"]) == 5
    assert "next" not in links(response)
    past = await client.get(
        "/api/now/table/incident", params={"sysparm_limit": "10", "sysparm_offset": "40"}
    )
    assert past.status_code == 200 and past.json()["result"] == []


async def test_walking_pages_sees_every_record_once(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    fill(instance, 23)
    seen: list[str] = []
    offset = 0
    while True:
        response = await client.get(
            "/api/now/table/incident",
            params={
                "sysparm_limit": "7",
                "sysparm_offset": str(offset),
                "sysparm_fields": "sys_id",
                "sysparm_query": "ORDERBYsys_updated_on^ORDERBYsys_id",
            },
        )
        page = [r["sys_id"] for r in response.json()["result"]]
        seen += page
        if "next" not in links(response):
            break
        offset += 7
    assert sorted(seen) == sorted(r["sys_id"] for r in instance.rows("incident"))


async def test_suppressed_header_and_no_count(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    fill(instance, 3)
    quiet = await client.get(
        "/api/now/table/incident",
        params={"sysparm_limit": "2", "sysparm_suppress_pagination_header": "true"},
    )
    assert "Link" not in quiet.headers
    assert quiet.headers["X-Total-Count"] == "3"
    uncounted = await client.get(
        "/api/now/table/incident", params={"sysparm_limit": "2", "sysparm_no_count": "true"}
    )
    assert "X-Total-Count" not in uncounted.headers
    assert set(links(uncounted)) == {"first", "next"}


async def test_default_limit_and_bad_numbers(client: httpx.AsyncClient, instance: Instance) -> None:
    fill(instance, 3)
    response = await client.get(
        "/api/now/table/incident", params={"sysparm_limit": "x", "sysparm_offset": "-4"}
    )
    assert len(response.json()["result"]) == 3
    assert links(response)["first"]["sysparm_limit"] == ["10000"]
