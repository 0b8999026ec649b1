"""Fault injection (rate limits, 5xx, ambiguous writes, latency) and request statistics."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from ticketbridge.fakejira import FaultConfig, RateLimitFault, Site
from ticketbridge.fakejira import context as fake_context
from ticketbridge.fakejira.server import BackgroundServer

from .conftest import ADMIN, create

ISSUE_BODY = {
    "fields": {"project": {"key": "DEMO"}, "issuetype": {"id": "10001"}, "summary": "maybe written"}
}


async def put_faults(client: httpx.AsyncClient, faults: dict[str, Any]) -> httpx.Response:
    response = await client.put("/_fake/faults", json=faults)
    assert response.status_code == 200, response.text
    return response


class TestRateLimit:
    async def test_429_carries_jira_headers(self, client: httpx.AsyncClient) -> None:
        await put_faults(client, {"rate_limit": {"share": 1.0, "retry_after": 7}})
        response = await client.get("/rest/api/3/myself")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert int(response.headers["X-RateLimit-Limit"]) > 0
        assert response.headers["X-RateLimit-Remaining"] == "0"
        reset = dt.datetime.fromisoformat(response.headers["X-RateLimit-Reset"])
        assert reset > dt.datetime.now(dt.UTC)
        assert response.headers["RateLimit-Reason"]
        assert response.json()["errorMessages"] == ["Rate limit exceeded."]

    async def test_token_bucket_throttles_only_that_endpoint(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Frozen clock: no refill between requests, however slow the machine is.
        monkeypatch.setattr("ticketbridge.fakejira.faults.time.monotonic", lambda: 500.0)
        await put_faults(client, {"rate_limit": {"per_second": 3}})
        statuses = [(await client.get("/rest/api/3/myself")).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        throttled = await client.get("/rest/api/3/myself")
        assert int(throttled.headers["Retry-After"]) >= 1
        assert throttled.headers["RateLimit-Reason"] == "jira-burst-based"
        # Another endpoint has its own bucket.
        assert (await client.get("/rest/api/3/priority")).status_code == 200

    async def test_bucket_refills(
        self, client: httpx.AsyncClient, site: Site, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        now = [1000.0]
        monkeypatch.setattr("ticketbridge.fakejira.faults.time.monotonic", lambda: now[0])
        site.faults.configure(FaultConfig(rate_limit=RateLimitFault(per_second=2)))
        codes = [(await client.get("/rest/api/3/field")).status_code for _ in range(3)]
        now[0] += 1.0
        codes.append((await client.get("/rest/api/3/field")).status_code)
        assert codes == [200, 200, 429, 200]

    async def test_limited_to_listed_routes(self, client: httpx.AsyncClient) -> None:
        await put_faults(
            client, {"rate_limit": {"share": 1.0, "routes": ["GET /rest/api/3/priority"]}}
        )
        assert (await client.get("/rest/api/3/priority")).status_code == 429
        assert (await client.get("/rest/api/2/priority")).status_code == 200
        assert (await client.get("/rest/api/3/myself")).status_code == 200


class TestErrorRate:
    async def test_share_is_roughly_right_and_reproducible(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        async def run() -> list[int]:
            await put_faults(client, {"seed": 42, "error_rate": {"share": 0.2, "status": 503}})
            return [(await client.get("/rest/api/3/priority")).status_code for _ in range(400)]

        first = await run()
        assert set(first) == {200, 503}
        assert 0.14 < first.count(503) / len(first) < 0.26
        assert await run() == first  # same seed, same sequence

    async def test_5xx_is_returned_before_applying(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await put_faults(client, {"error_rate": {"share": 1.0, "status": 502}})
        response = await client.post("/rest/api/3/issue", json=ISSUE_BODY)
        assert response.status_code == 502
        assert site.issues_count() == 0


class TestRefuse:
    async def test_a_4xx_on_the_chosen_routes_only_and_nothing_applied(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        refuse = {
            "status": 403,
            "message": "Bulk edit is disabled.",
            "routes": ["/rest/api/3/issue"],
        }
        await put_faults(client, {"refuse": refuse})
        refused = await client.post("/rest/api/3/issue", json=ISSUE_BODY)
        assert refused.status_code == 403
        assert refused.json()["errorMessages"] == ["Bulk edit is disabled."]
        assert site.issues_count() == 0
        assert (await client.get("/rest/api/3/myself")).status_code == 200
        assert site.faults.injected["refused"] == 1

    @pytest.mark.parametrize("status", [500, 429, 302])
    async def test_only_a_4xx_other_than_429(self, client: httpx.AsyncClient, status: int) -> None:
        response = await client.put("/_fake/faults", json={"refuse": {"status": status}})
        assert response.status_code == 400


class TestAmbiguousInProcess:
    async def test_5xx_after_applying(self, client: httpx.AsyncClient, site: Site) -> None:
        await put_faults(
            client,
            {
                "ambiguous": {
                    "share": 1.0,
                    "mode": "5xx",
                    "count": 1,
                    "routes": ["POST /rest/api/3/issue"],
                }
            },
        )
        response = await client.post("/rest/api/3/issue", json=ISSUE_BODY)
        assert response.status_code == 504
        assert site.issues_count() == 1  # the write happened anyway
        again = await client.post("/rest/api/3/issue", json=ISSUE_BODY)
        assert again.status_code == 201  # count exhausted
        assert site.issues_count() == 2

    async def test_drop_after_applying(self, client: httpx.AsyncClient, site: Site) -> None:
        await put_faults(client, {"ambiguous": {"share": 1.0, "mode": "drop"}})
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/rest/api/3/issue", json=ISSUE_BODY)
        assert site.get_issue("DEMO-1").summary == "maybe written"

    async def test_reads_and_failures_are_not_ambiguous(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await put_faults(
            client,
            {"ambiguous": {"share": 1.0, "mode": "5xx", "routes": ["POST /rest/api/3/issue"]}},
        )
        assert (await client.get("/rest/api/3/myself")).status_code == 200
        bad = await client.post("/rest/api/3/issue", json={"fields": {}})
        assert bad.status_code == 400


class TestAmbiguousOverSocket:
    def test_drop_closes_the_connection_after_applying(self, live_server: BackgroundServer) -> None:
        with httpx.Client(base_url=live_server.base_url, auth=ADMIN) as http:
            assert (
                http.put(
                    "/_fake/faults",
                    json={"ambiguous": {"mode": "drop", "routes": ["POST /rest/api/3/issue"]}},
                ).status_code
                == 200
            )
            with pytest.raises(httpx.RemoteProtocolError):
                http.post("/rest/api/3/issue", json=ISSUE_BODY)
            stored = http.get("/_fake/issues/DEMO-1")
            assert stored.status_code == 200 and stored.json()["summary"] == "maybe written"
            # The server keeps serving new connections.
            assert http.get("/rest/api/3/myself").status_code == 200

    def test_5xx_over_socket(self, live_server: BackgroundServer) -> None:
        with httpx.Client(base_url=live_server.base_url, auth=ADMIN) as http:
            http.put("/_fake/faults", json={"ambiguous": {"mode": "5xx", "status": 500}})
            response = http.post("/rest/api/3/issue", json=ISSUE_BODY)
            assert response.status_code == 500
            assert live_server.state.site().issues_count() == 1


class TestLatency:
    async def test_fixed_latency(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each request waits latency + jitter before it is served (the wait is recorded, not
        timed: a loaded machine makes wall-clock bounds flaky)."""
        waited: list[float] = []

        async def sleep(delay: float) -> None:
            waited.append(delay)

        monkeypatch.setattr(fake_context, "asyncio", SimpleNamespace(sleep=sleep))
        await put_faults(client, {"latency_ms": 120, "latency_jitter_ms": 30})
        for _ in range(5):
            assert (await client.get("/rest/api/3/myself")).status_code == 200
        assert len(waited) == 5
        assert all(0.12 <= delay <= 0.15 for delay in waited), waited
        assert len(set(waited)) > 1  # the jitter varies


class TestFaultConfigApi:
    async def test_get_returns_what_was_put(self, client: httpx.AsyncClient) -> None:
        await put_faults(client, {"latency_ms": 5, "error_rate": {"share": 0.5}})
        data = (await client.get("/_fake/faults")).json()
        assert data["latency_ms"] == 5
        assert data["error_rate"] == {"share": 0.5, "status": 503, "routes": None}
        assert data["rate_limit"] is None

    @pytest.mark.parametrize(
        "body",
        [
            {"nope": 1},
            {"error_rate": {"share": 2}},
            {"ambiguous": {"mode": "later"}},
            {"error_rate": {"status": 404, "share": 1}},
            {"latency_ms": -1},
            {"rate_limit": {"routes": "GET /x"}},
        ],
    )
    async def test_invalid_config_is_400(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        response = await client.put("/_fake/faults", json=body)
        assert response.status_code == 400
        assert response.json()["error"]

    async def test_admin_routes_are_never_faulted(self, client: httpx.AsyncClient) -> None:
        await put_faults(client, {"error_rate": {"share": 1.0}, "rate_limit": {"share": 1.0}})
        assert (await client.get("/_fake/stats")).status_code == 200


class TestStats:
    async def test_counts_per_route_template(self, client: httpx.AsyncClient) -> None:
        await create(client)
        await client.post("/rest/api/3/issue/bulk", json={"issueUpdates": [ISSUE_BODY]})
        await client.post("/rest/api/3/issue/bulk", json={"issueUpdates": [ISSUE_BODY]})
        await client.get("/rest/api/3/issue/DEMO-1")
        await client.get("/rest/api/2/issue/DEMO-2")
        await client.get("/rest/api/3/no/such/path")
        stats = (await client.get("/_fake/stats")).json()
        assert stats["requests"] == {
            "GET /rest/api/2/issue/{issueIdOrKey}": 1,
            "GET /rest/api/3/issue/{issueIdOrKey}": 1,
            "GET <unmatched>": 1,
            "POST /rest/api/3/issue": 1,
            "POST /rest/api/3/issue/bulk": 2,
        }
        assert stats["total"] == 6
        assert stats["statuses"] == {"200": 2, "201": 3, "404": 1}
        reset = (await client.post("/_fake/stats/reset")).json()
        assert reset["total"] == 0 and reset["requests"] == {}

    async def test_peak_concurrency_of_jira_requests(self, client: httpx.AsyncClient) -> None:
        # While latency holds requests in flight, the peak shows how many a client had at once.
        await put_faults(client, {"latency_ms": 50})
        answers = await asyncio.gather(*(client.get("/rest/api/3/myself") for _ in range(5)))
        assert [r.status_code for r in answers] == [200] * 5
        await client.get("/rest/api/3/myself")
        stats = (await client.get("/_fake/stats")).json()
        assert stats["peak_in_flight"] == 5 and stats["total"] == 6
        reset = (await client.post("/_fake/stats/reset")).json()
        assert reset["peak_in_flight"] == 0
        await client.get("/rest/api/3/myself")
        assert (await client.get("/_fake/stats")).json()["peak_in_flight"] == 1

    async def test_faults_are_counted(self, client: httpx.AsyncClient) -> None:
        await put_faults(client, {"rate_limit": {"share": 1.0}})
        await client.get("/rest/api/3/myself")
        stats = (await client.get("/_fake/stats")).json()
        assert stats["faults"] == {"rate_limited": 1}
        assert stats["statuses"] == {"429": 1}
