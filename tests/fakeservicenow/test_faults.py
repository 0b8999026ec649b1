"""Injected faults: rate limits, errors before applying, refusals, ambiguous writes, latency."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ticketbridge.fakeservicenow import FakeServiceNowApp, Instance, create_app
from ticketbridge.fakeservicenow.server import BackgroundServer

from .batch_helpers import batch_of
from .conftest import ADMIN


async def configure(client: httpx.AsyncClient, faults: dict[str, object]) -> None:
    response = await client.put("/_fake/faults", json=faults)
    assert response.status_code == 200, response.text


async def test_rate_limit_answers_429_with_servicenow_headers(client: httpx.AsyncClient) -> None:
    await configure(client, {"rate_limit": {"share": 1.0, "retry_after": 3}})
    response = await client.get("/api/now/table/incident")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    for header in (
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Rule",
    ):
        assert header in response.headers
    assert response.json()["error"]["message"] == "Rate limit exceeded"
    stats = (await client.get("/_fake/stats")).json()
    assert stats["faults"] == {"rate_limited": 1}
    assert stats["statuses"] == {"429": 1}


async def test_token_bucket_throttles_one_route_only(client: httpx.AsyncClient) -> None:
    await configure(
        client, {"rate_limit": {"per_second": 2, "routes": ["GET /api/now/table/incident"]}}
    )
    statuses = [(await client.get("/api/now/table/incident")).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and 429 in statuses[2:]
    assert (await client.get("/api/now/table/sys_user")).status_code == 200


async def test_errors_before_applying_change_nothing(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    await configure(client, {"error_rate": {"share": 1.0, "status": 503}})
    response = await client.post("/api/now/table/incident", json={"short_description": "x"})
    assert response.status_code == 503
    assert response.json()["status"] == "failure"
    assert instance.count("incident") == 0


async def test_ambiguous_5xx_applies_then_fails(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    await configure(client, {"ambiguous": {"mode": "5xx", "status": 504, "count": 1}})
    first = await client.post("/api/now/table/incident", json={"short_description": "x"})
    assert first.status_code == 504
    assert instance.count("incident") == 1  # the write happened
    second = await client.post("/api/now/table/incident", json={"short_description": "y"})
    assert second.status_code == 201  # count exhausted


async def test_ambiguous_drop_in_process_raises_like_a_hang_up(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    await configure(
        client, {"ambiguous": {"mode": "drop", "routes": ["POST /api/now/table/incident"]}}
    )
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/api/now/table/incident", json={"short_description": "x"})
    assert instance.count("incident") == 1


def test_ambiguous_drop_over_a_socket_closes_the_connection() -> None:
    app = create_app()
    with BackgroundServer(app) as server:
        with httpx.Client(base_url=server.base_url, auth=ADMIN) as c:
            c.put("/_fake/faults", json={"ambiguous": {"mode": "drop", "count": 1}})
            with pytest.raises(httpx.RemoteProtocolError):
                c.post("/api/now/table/incident", json={"short_description": "x"})
            assert server.state.default.count("incident") == 1
            assert c.get("/api/now/table/incident").status_code == 200


async def test_refusal_answers_the_configured_4xx(client: httpx.AsyncClient) -> None:
    await configure(client, {"refuse": {"status": 403, "routes": ["/api/now/v1/batch"]}})
    refused = await client.post("/api/now/v1/batch", json={"rest_requests": []})
    assert refused.status_code == 403
    assert (await client.get("/api/now/table/incident")).status_code == 200


async def test_faults_hit_batch_items_only_when_routes_name_them(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    await configure(
        client,
        {"error_rate": {"share": 1.0, "status": 503, "routes": ["POST /api/now/table/incident"]}},
    )
    data = await batch_of(client, 2)
    assert [s["status_code"] for s in data["serviced_requests"]] == [503, 503]
    assert instance.count("incident") == 0
    await configure(client, {"ambiguous": {"mode": "5xx", "status": 502}})
    whole = await client.post("/api/now/v1/batch", json={"rest_requests": []})
    assert whole.status_code == 502  # a fault without routes hits the batch call itself


async def test_a_rate_limited_batch_item_is_its_own_429_with_retry_after(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    # A rate limit rule on the items' route: each item answers 429 before touching a record,
    # with the rule's headers in the item's own headers; the batch itself answers 200.
    await configure(
        client,
        {
            "rate_limit": {
                "share": 1.0,
                "retry_after": 4,
                "routes": ["POST /api/now/table/incident"],
            }
        },
    )
    data = await batch_of(client, 2)
    served = data["serviced_requests"]
    assert [s["status_code"] for s in served] == [429, 429]
    headers = {h["name"]: h["value"] for h in served[0]["headers"]}
    assert headers["Retry-After"] == "4" and "X-RateLimit-Rule" in headers
    assert "rate limit" in served[0]["error_message"].lower()
    assert instance.count("incident") == 0
    stats = (await client.get("/_fake/stats")).json()
    assert stats["requests"]["BATCH POST /api/now/table/incident"] == 2
    assert stats["faults"] == {"rate_limited": 2}


async def test_stats_keep_the_peak_of_requests_in_flight(client: httpx.AsyncClient) -> None:
    await configure(client, {"latency_ms": 20})
    await asyncio.gather(*(client.get("/api/now/table/incident") for _ in range(3)))
    stats = (await client.get("/_fake/stats")).json()
    assert stats["peak_in_flight"] == 3
    await client.post("/_fake/stats/reset")
    assert (await client.get("/_fake/stats")).json()["peak_in_flight"] == 0


async def test_latency_is_applied_and_configuration_is_validated(
    client: httpx.AsyncClient,
) -> None:
    await configure(client, {"latency_ms": 1})
    assert (await client.get("/api/now/table/incident")).status_code == 200
    for bad in (
        {"nope": 1},
        {"error_rate": {"status": 404}},
        {"ambiguous": {"mode": "later"}},
        {"refuse": {"status": 429}},
        {"rate_limit": {"share": 2}},
        {"latency_ms": -1},
    ):
        response = await client.put("/_fake/faults", json=bad)
        assert response.status_code == 400, bad
    assert (await client.get("/_fake/faults")).json()["latency_ms"] == 1


async def test_admin_routes_are_never_faulted(
    client: httpx.AsyncClient, app: FakeServiceNowApp
) -> None:
    await configure(client, {"error_rate": {"share": 1.0}})
    assert (await client.get("/_fake/stats")).status_code == 200
