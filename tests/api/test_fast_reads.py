"""api/fast_reads.py answers the hot ticket reads exactly as the routes do: each request is
sent twice, once as it comes and once with the fast path turned off, and status, body and
headers (but the request id) must match, for answers and errors alike."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.fixtures.emulator import seed
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.api import fast_passthrough, fast_reads
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync

TICKETS = "/v1/itsm/tickets"


@pytest.fixture
async def synced(fake_site: Site, runtime: Runtime, tenant: Tenant) -> Tenant:
    seed(fake_site, projects=2, per_project=30, users=6)
    await run_sync(runtime, cid(tenant))
    return tenant


def _answer(r: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = [(k, v) for k, v in r.headers.multi_items() if k.lower() != "x-request-id"]
    return r.status_code, r.content, headers


async def both_ways(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    headers: dict[str, str],
    params: Any = None,
    *,
    tokens: bool = False,
) -> httpx.Response:
    """The answer with the fast path; asserts the routes give the same one (``tokens``: but
    the vendor's page token sealed in ``next_cursor``, a fresh one per search in fakejira)."""
    taken: list[bool] = []
    real = fast_reads._answer

    async def spy(*args: Any) -> Any:
        taken.append(True)
        return await real(*args)

    monkeypatch.setattr(fast_reads, "_answer", spy)
    fast = await client.get(url, params=params, headers=headers)
    monkeypatch.setattr(fast_reads, "_answer", _never)
    routed = await client.get(url, params=params, headers=headers)
    monkeypatch.setattr(fast_reads, "_answer", real)
    if tokens:
        assert _without_token(fast) == _without_token(routed), url
    else:
        assert _answer(fast) == _answer(routed), url
    fast.extensions["fast"] = bool(taken)
    return fast


def _without_token(r: httpx.Response) -> Any:
    status, body, headers = _answer(r)
    if status != 200:
        return status, body, headers
    page = r.json()
    sealed = page.pop("next_cursor")
    size = [v for k, v in headers if k.lower() == "content-length"]
    rest = [(k, v) for k, v in headers if k.lower() != "content-length"]
    # Same length of cursor: the same fields sealed, only the token's characters differ.
    return status, page, rest, sealed is None, len(sealed or ""), size and len(body)


async def _never(*_: Any) -> None:
    raise AssertionError("the fast path is off")


@pytest.fixture(autouse=True)
def _route_when_off(monkeypatch: pytest.MonkeyPatch) -> None:
    # With ``_answer`` replaced by ``_never``, the middleware must not be reached: make the
    # off switch the matchers instead, so the routes answer.
    real_uuid, real_params = fast_reads._uuid, fast_reads._page_params

    def uuid_or_off(text: str) -> uuid.UUID | None:
        return None if fast_reads._answer is _never else real_uuid(text)

    def params_or_off(raw: bytes) -> dict[str, str] | None:
        return None if fast_reads._answer is _never else real_params(raw)

    real_match = fast_passthrough.match

    def match_or_off(path: str, raw: bytes) -> Any:
        return None if fast_reads._answer is _never else real_match(path, raw)

    monkeypatch.setattr(fast_reads, "_uuid", uuid_or_off)
    monkeypatch.setattr(fast_reads, "_page_params", params_or_off)
    monkeypatch.setattr(fast_passthrough, "match", match_or_off)


class TestSameAnswers:
    async def test_a_ticket_and_its_errors(
        self,
        client: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        synced: Tenant,
        other_tenant: Tenant,
    ) -> None:
        page = (await client.get(TICKETS, params={"limit": 3}, headers=synced.headers)).json()
        tid = page["items"][0]["id"]
        h = synced.headers
        ok = await both_ways(client, monkeypatch, f"{TICKETS}/{tid}", h)
        assert ok.status_code == 200 and ok.extensions["fast"]
        assert ok.json()["id"] == tid
        upper = await both_ways(client, monkeypatch, f"{TICKETS}/{tid.upper()}", h)
        assert upper.status_code == 200 and upper.extensions["fast"]
        cases: list[tuple[str, dict[str, str], int]] = [
            (f"{TICKETS}/{uuid.uuid4()}", h, 404),
            (f"{TICKETS}/{tid}", other_tenant.headers, 404),  # another account's connection
            (f"{TICKETS}/{tid}", {"X-API-KEY": h["X-API-KEY"]}, 422),
            (f"{TICKETS}/{tid}", {**h, "X-CONNECTION-ID": "nope"}, 422),
            (f"{TICKETS}/{tid}", {**h, "X-API-KEY": "tb_wrong"}, 401),
            (f"{TICKETS}/{tid}", {"X-CONNECTION-ID": h["X-CONNECTION-ID"]}, 401),
            (f"{TICKETS}/not-a-uuid", h, 422),
            (f"{TICKETS}/{{{tid}}}", h, 200),  # routed: pydantic takes braces too
            (f"{TICKETS}/{tid}?x=1", h, 422),
        ]
        for url, headers, status in cases:
            r = await both_ways(client, monkeypatch, url, headers)
            assert r.status_code == status, (url, r.text)

    async def test_a_disabled_connection_is_409(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, synced: Tenant
    ) -> None:
        h = synced.headers
        r = await client.patch(
            f"/v1/provisioning/connections/{synced.connection_id}",
            json={"is_active": False},
            headers=h,
        )
        assert r.status_code == 200, r.text
        r = await both_ways(client, monkeypatch, f"{TICKETS}/{uuid.uuid4()}", h)
        assert r.status_code == 409 and r.extensions["fast"]
        r = await both_ways(client, monkeypatch, TICKETS, h, {"enableCursor": "true"})
        assert r.status_code == 409 and r.extensions["fast"]

    async def test_cursor_pages_forward_and_back(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, synced: Tenant
    ) -> None:
        h = synced.headers
        first = await both_ways(
            client, monkeypatch, TICKETS, h, {"limit": 7, "enableCursor": "true"}
        )
        assert first.extensions["fast"]
        pages = [first.json()]
        while pages[-1]["next_cursor"]:
            r = await both_ways(
                client, monkeypatch, TICKETS, h, {"cursor": pages[-1]["next_cursor"]}
            )
            assert r.status_code == 200 and r.extensions["fast"]
            pages.append(r.json())
        assert sum(len(p["items"]) for p in pages) == 60
        back = await both_ways(
            client, monkeypatch, TICKETS, h, {"cursor": pages[-1]["previous_cursor"]}
        )
        assert back.json() == pages[-2]
        default = await both_ways(client, monkeypatch, TICKETS, h, {"enableCursor": "true"})
        assert len(default.json()["items"]) == 60 and default.extensions["fast"]

    async def test_offset_pages(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, synced: Tenant
    ) -> None:
        h = synced.headers
        seen: list[str] = []
        for offset in range(0, 63, 9):
            r = await both_ways(client, monkeypatch, TICKETS, h, {"limit": 9, "offset": offset})
            assert r.status_code == 200 and r.extensions["fast"]
            body = r.json()
            assert (body["total"], body["limit"], body["offset"]) == (60, 9, offset)
            seen += [t["id"] for t in body["items"]]
        assert len(seen) == len(set(seen)) == 60
        default = await both_ways(client, monkeypatch, TICKETS, h)
        assert default.extensions["fast"] and default.json()["limit"] == 100
        assert len(default.json()["items"]) == 60
        only_offset = await both_ways(client, monkeypatch, TICKETS, h, {"offset": 58})
        assert only_offset.extensions["fast"] and len(only_offset.json()["items"]) == 2
        no_key = await both_ways(client, monkeypatch, TICKETS, {}, {"limit": 5})
        assert no_key.status_code == 401 and no_key.extensions["fast"]

    async def test_everything_else_goes_to_the_routes(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, synced: Tenant
    ) -> None:
        h = synced.headers
        routed: list[tuple[Any, int]] = [
            ({"limit": 5, "enableCursor": "1"}, 200),
            ({"limit": 5, "enableCursor": "false"}, 200),  # an offset page, spelled out
            ({"limit": 5, "offset": 3, "enableCursor": "true"}, 200),
            ({"limit": 5, "offset": -1}, 422),
            ({"limit": 5, "offset": 1_000_001}, 422),
            ({"limit": 5, "offset": "+3"}, 200),
            ({"limit": 0}, 422),
            ({"limit": 5, "status": "TODO"}, 200),
            ([("offset", "5"), ("offset", "6")], 200),
            ({"limit": 0, "enableCursor": "true"}, 422),
            ({"limit": 1001, "enableCursor": "true"}, 422),
            ({"limit": "x", "enableCursor": "true"}, 422),
            ({"enableCursor": "true", "status": "TODO"}, 200),
            ({"enableCursor": "true", "bogus": "1"}, 422),
            ({"cursor": ""}, 200),
            ([("limit", "5"), ("limit", "6"), ("enableCursor", "true")], 200),
        ]
        for params, status in routed:
            r = await both_ways(client, monkeypatch, TICKETS, h, params)
            assert r.status_code == status, (params, r.text)
            assert not r.extensions["fast"], params
        bad = await both_ways(client, monkeypatch, TICKETS, h, {"cursor": "bm90IGEgY3Vyc29y"})
        assert bad.status_code == 422 and bad.extensions["fast"]
        no_key = await both_ways(client, monkeypatch, TICKETS, {}, {"cursor": "bm90IGEgY3Vyc29y"})
        assert no_key.status_code == 401  # the key is checked first, as by the routes


PROJECTS = "/v1/itsm/passthrough/projects"
SEARCH = "/v1/itsm/passthrough/tickets/search"


class TestPassthroughSameAnswers:
    async def test_projects(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, synced: Tenant
    ) -> None:
        h = synced.headers
        fast: list[tuple[Any, dict[str, str], int]] = [
            ({}, h, 200),
            ({"limit": 1}, h, 200),
            ({"limit": 1, "offset": 1}, h, 200),
            ({"offset": 5}, h, 200),
            ({}, {**h, "X-API-KEY": "tb_wrong"}, 401),
            ({}, {"X-API-KEY": h["X-API-KEY"]}, 422),
        ]
        for params, headers, status in fast:
            r = await both_ways(client, monkeypatch, PROJECTS, headers, params)
            assert r.status_code == status and r.extensions["fast"], (params, r.text)
        assert len((await client.get(PROJECTS, headers=h)).json()["items"]) == 2
        routed: list[tuple[Any, int]] = [
            ({"limit": 0}, 422),
            ({"limit": 1001}, 422),
            ({"offset": "-1"}, 422),
            ({"query": "P"}, 200),
            ({"expand_issue_types": "true"}, 200),
            ([("limit", "1"), ("limit", "2")], 200),
        ]
        for params, status in routed:
            r = await both_ways(client, monkeypatch, PROJECTS, h, params)
            assert r.status_code == status and not r.extensions["fast"], (params, r.text)

    async def test_search(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, synced: Tenant
    ) -> None:
        h = synced.headers
        key = (await client.get(PROJECTS, headers=h)).json()["items"][0]["key"]
        jql = f"project = {key} ORDER BY id ASC"
        r = await both_ways(client, monkeypatch, SEARCH, h, {"jql": jql, "limit": 20}, tokens=True)
        assert r.status_code == 200 and r.extensions["fast"]
        pages = [r.json()]
        while pages[-1]["next_cursor"]:
            params = {"jql": jql, "limit": 20, "cursor": pages[-1]["next_cursor"]}
            r = await both_ways(client, monkeypatch, SEARCH, h, params, tokens=True)
            assert r.status_code == 200 and r.extensions["fast"]
            pages.append(r.json())
        assert sum(len(p["items"]) for p in pages) == 30
        fast: list[tuple[dict[str, Any], int]] = [
            ({"jql": jql}, 200),
            ({"jql": "project = ("}, 422),  # Jira's 400 on the JQL
            ({"jql": jql, "cursor": "bm90.YQ"}, 422),  # not ours
            ({"jql": jql, "limit": 20, "cursor": pages[0]["next_cursor"] + "x"}, 422),
        ]
        for params, status in fast:
            r = await both_ways(client, monkeypatch, SEARCH, h, params, tokens=True)
            assert r.status_code == status and r.extensions["fast"], (params, r.text)
        routed: list[tuple[Any, int]] = [
            ({}, 422),
            ({"jql": ""}, 422),
            ({"jql": jql, "cursor": ""}, 200),
            ({"jql": jql, "limit": 101}, 422),
            ({"jql": jql, "fields": "summary"}, 200),
            ({"jql": jql, "normalized": "true"}, 200),
            ({"query": "active=true"}, 422),
            ({"jql": "x" * 5001}, 422),
        ]
        for params, status in routed:
            r = await both_ways(client, monkeypatch, SEARCH, h, params, tokens=True)
            assert r.status_code == status and not r.extensions["fast"], (params, r.text)


def test_the_matchers() -> None:
    assert fast_reads._page_params(b"limit=50&enableCursor=true") == {
        "limit": "50",
        "enableCursor": "true",
    }
    assert fast_reads._page_params(b"limit=50") == {"limit": "50"}
    assert fast_reads._page_params(b"") == {}
    assert fast_reads._page_params(b"limit=50&offset=1000001") is None
    assert fast_reads._page_params(b"limit=50&offset=0&cursor=x") is None
    assert fast_reads._page_params(b"enableCursor=true&limit=%EF%BC%95") is None
    assert fast_reads._page_params(b"enableCursor") is None
    tid = uuid.uuid4()
    assert fast_reads._uuid(str(tid)) == tid
    assert fast_reads._uuid(tid.hex) is None
    assert fast_reads._uuid(f"urn:uuid:{tid}") is None
