"""Synced reads as the docs describe them: unknown query parameters are a
422 naming them, ``project_id`` and ``projectId`` work on every list filtering by project, and
``next_cursor`` keeps the page size."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.fixtures.emulator import seed
from tests.fixtures.tenants import Tenant
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync

LISTS = ["/v1/itsm/tickets", "/v1/itsm/issue-types", "/v1/itsm/users"]


@pytest.fixture
async def synced(runtime: Runtime, tenant: Tenant, fake_site: Site) -> Tenant:
    seed(fake_site, projects=2, per_project=8, users=4)
    await run_sync(runtime, uuid.UUID(str(tenant.connection_id)), full=True)
    return tenant


async def project_ids(client: httpx.AsyncClient, tenant: Tenant) -> list[str]:
    r = await client.get("/v1/itsm/projects", headers=tenant.headers)
    return [p["id"] for p in r.json()["items"]]


async def test_unknown_query_parameters_are_422_naming_them(
    client: httpx.AsyncClient, synced: Tenant
) -> None:
    for url in [*LISTS, "/v1/itsm/projects"]:
        r = await client.get(url, params={"projectid": "x", "limt": "5"}, headers=synced.headers)
        assert r.status_code == 422, (url, r.text)
        assert [e["loc"] for e in r.json()["errors"]] == [["query", "limt"], ["query", "projectid"]]
        assert "limt" in r.json()["detail"] and "projectid" in r.json()["detail"]
    ok = await client.get(
        "/v1/itsm/tickets", params={"limit": 2, "enableCursor": "true"}, headers=synced.headers
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("url", LISTS)
async def test_both_spellings_of_the_project_filter(
    client: httpx.AsyncClient, synced: Tenant, url: str
) -> None:
    first, second = await project_ids(client, synced)
    snake = await client.get(url, params={"project_id": first}, headers=synced.headers)
    camel = await client.get(url, params={"projectId": first}, headers=synced.headers)
    assert snake.status_code == camel.status_code == 200, (snake.text, camel.text)
    assert snake.json() == camel.json()
    everything = await client.get(url, headers=synced.headers)
    assert snake.json()["total"] < everything.json()["total"] or url.endswith("users")
    both = await client.get(
        url, params={"project_id": first, "projectId": second}, headers=synced.headers
    )
    assert both.status_code == 422 and both.json()["errors"][0]["loc"] == ["query", "projectId"]


async def test_next_cursor_keeps_the_limit(client: httpx.AsyncClient, synced: Tenant) -> None:
    r = await client.get(
        "/v1/itsm/tickets", params={"enableCursor": "true", "limit": 3}, headers=synced.headers
    )
    page = r.json()
    assert len(page["items"]) == 3
    seen = [t["id"] for t in page["items"]]
    while page["next_cursor"]:
        r = await client.get(
            "/v1/itsm/tickets", params={"cursor": page["next_cursor"]}, headers=synced.headers
        )
        page = r.json()
        assert len(page["items"]) <= 3, len(page["items"])
        seen += [t["id"] for t in page["items"]]
    assert len(seen) == len(set(seen)) == 16
    # An explicit limit still wins over the cursor's.
    r = await client.get(
        "/v1/itsm/tickets", params={"enableCursor": "true", "limit": 3}, headers=synced.headers
    )
    nxt = await client.get(
        "/v1/itsm/tickets",
        params={"cursor": r.json()["next_cursor"], "limit": 5},
        headers=synced.headers,
    )
    assert len(nxt.json()["items"]) == 5
