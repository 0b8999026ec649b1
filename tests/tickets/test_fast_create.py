"""api/fast_create.py answers a create as the route does: each request is sent twice, once as
it comes and once with the fast path turned off. Errors must match byte for byte; a created
ticket (a new one each time) must match but for what is new to it (ids, keys, times)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.fixtures.tickets import TICKETS, jira_issue
from ticketbridge.api import fast_create
from ticketbridge.fakejira import Site

NEW_EACH_TIME = ("id", "vendor_id", "vendor_key", "url", "identifier", "created_at", "updated_at")


def _answer(r: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = [(k, v) for k, v in r.headers.multi_items() if k.lower() != "x-request-id"]
    return r.status_code, r.content, headers


def _ticket(r: httpx.Response) -> Any:
    """A created ticket's answer without what is new to each ticket."""
    status, _, headers = _answer(r)
    body = r.json()
    shape = list(body)
    attributes = body.pop("vendor_attributes", None)
    for key in NEW_EACH_TIME:
        body.pop(key, None)
    sizes = [v for k, v in headers if k.lower() != "content-length"]
    return status, shape, body, sorted(attributes or {}), sizes


async def both_ways(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
    body: Any = None,
    *,
    content: bytes | None = None,
    created: bool = False,
) -> httpx.Response:
    """The answer with the fast path; asserts the route gives the same one."""
    taken: list[bool] = []
    real_plain = fast_create.plain_create

    def spy(*args: Any) -> Any:
        found = real_plain(*args)
        taken.append(found is not None)
        return found

    def send() -> Any:
        if content is not None:
            return client.post(TICKETS, content=content, headers=headers)
        return client.post(TICKETS, json=body, headers=headers)

    monkeypatch.setattr(fast_create, "plain_create", spy)
    fast = await send()
    monkeypatch.setattr(fast_create, "plain_create", lambda *_: None)
    routed = await send()
    monkeypatch.setattr(fast_create, "plain_create", real_plain)
    if created:
        assert _ticket(fast) == _ticket(routed)
    else:
        assert _answer(fast) == _answer(routed), fast.text
    fast.extensions["fast"] = taken == [True]
    return fast


BODY = {"name": "Disk full", "project_vendor_id": "DEMO", "type_vendor_id": "10004"}


class TestSameAnswers:
    async def test_creates(
        self,
        client: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        tenant: Tenant,
        ops_site: Site,
    ) -> None:
        h = tenant.headers
        full = {
            **BODY,
            "description": "Disk **full**\n\n- db-1",
            "priority": "CRITICAL",
            "tags": ["infra", "infra", "ü"],
            "due_date": "2030-01-31",
            "custom_fields": {"customfield_10016": 5},
        }
        for body in (BODY, full, {**BODY, "identifier": None}, {**BODY, "unknown": 1}):
            r = await both_ways(client, monkeypatch, h, body, created=True)
            assert r.status_code == 200 and r.extensions["fast"], r.text
            assert jira_issue(ops_site, r.json()).summary == "Disk full"

    async def test_errors(
        self,
        client: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        tenant: Tenant,
        other_tenant: Tenant,
        ops_site: Site,
    ) -> None:
        h = tenant.headers
        r = await client.post(TICKETS, json={**BODY, "identifier": "DUP-1"}, headers=h)
        assert r.status_code == 200, r.text
        fast: list[tuple[dict[str, str], dict[str, Any], int]] = [
            (h, {**BODY, "identifier": "DUP-1"}, 409),
            (h, {"name": "no project"}, 422),  # the vendor's required fields
            (h, {**BODY, "project_vendor_id": "NOPE"}, 422),  # Jira's refusal
            (h, {**BODY, "tags": ["tb-0123456789abcdef"]}, 422),  # a reserved tag
            ({**h, "X-API-KEY": "tb_wrong"}, BODY, 401),
            ({"X-API-KEY": h["X-API-KEY"]}, BODY, 422),
            ({**h, "X-CONNECTION-ID": other_tenant.connection_id}, BODY, 404),
        ]
        for headers, body, status in fast:
            r = await both_ways(client, monkeypatch, headers, body)
            assert r.status_code == status and r.extensions["fast"], (body, r.text)

    async def test_what_the_route_answers(
        self,
        client: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        tenant: Tenant,
        ops_site: Site,
    ) -> None:
        h = tenant.headers
        routed: list[tuple[dict[str, str], Any, bytes | None, int]] = [
            (h, {**BODY, "name": 5}, None, 422),
            (h, [BODY], None, 422),
            (h, None, b"{not json", 422),
            (h, None, b'{"name": NaN}', 422),
            ({**h, "content-type": "text/plain"}, None, b"{}", 422),
            ({**h, "Idempotency-Key": ""}, BODY, None, 422),
            ({**h, "Idempotency-Key": "k" * 256}, BODY, None, 422),
            ({**h, "X-API-KEY": "tb_wrong"}, {"name": 5}, None, 401),
        ]
        for headers, body, content, status in routed:
            r = await both_ways(client, monkeypatch, headers, body, content=content)
            assert r.status_code == status and not r.extensions["fast"], (body, r.text)


class TestIdempotencyKeys:
    async def test_replays_match_the_first_answer(
        self,
        client: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        tenant: Tenant,
        ops_site: Site,
    ) -> None:
        h = {**tenant.headers, "Idempotency-Key": "create-1"}
        first = await client.post(TICKETS, json=BODY, headers=h)
        assert first.status_code == 200, first.text
        # The replay, both ways: the same bytes as the first answer, marked as a replay.
        replay = await both_ways(client, monkeypatch, h, BODY)
        assert replay.extensions["fast"] and replay.json() == first.json()
        assert replay.headers["Idempotent-Replayed"] == "true"
        other = await both_ways(client, monkeypatch, h, {**BODY, "name": "another"})
        assert other.status_code == 422 and other.extensions["fast"]
        assert len([i for i in ops_site.issues.values() if i.summary == "Disk full"]) == 1

    async def test_a_route_answer_is_replayed_by_the_fast_path(
        self,
        client: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        tenant: Tenant,
        ops_site: Site,
    ) -> None:
        h = {**tenant.headers, "Idempotency-Key": "create-2"}
        monkeypatch.setattr(fast_create, "plain_create", lambda *_: None)
        first = await client.post(TICKETS, json=BODY, headers=h)
        monkeypatch.undo()
        again = await client.post(TICKETS, json=BODY, headers=h)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        # (PostgreSQL's JSONB keeps the recorded answer in its own key order.)
        assert again.json() == first.json()


def test_plain_create() -> None:
    scope = {"headers": [(b"content-type", b"application/json")]}
    found = fast_create.plain_create(scope, b'{"name": "x"}')
    assert found is not None and found[0].name == "x" and found[1] is None
    keyed = {"headers": [*scope["headers"], (b"idempotency-key", b"k1")]}
    assert (found := fast_create.plain_create(keyed, b'{"name": "x"}')) and found[1] == "k1"
    twice = {"headers": [*keyed["headers"], (b"Idempotency-Key", b"k2")]}
    assert fast_create.plain_create(twice, b'{"name": "x"}') is None
    assert fast_create.plain_create(scope, b"[]") is None
    assert fast_create.plain_create(scope, b'{"name": 1}') is None
    assert fast_create.plain_create({"headers": []}, b'{"name": "x"}') is None
