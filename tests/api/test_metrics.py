"""``GET /metrics``: every named series appears after traffic, and no label carries a key, a
token, a host, a raw path or ticket content."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.emulator import seed
from tests.fixtures.tenants import Tenant
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync

SECRET_SUMMARY = "metrics-secret-summary-do-not-label"


@pytest.fixture(autouse=True)
def no_settle_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ticketbridge.bulk.create.SETTLE_SECS", 0.0)


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


async def wait_job(client: httpx.AsyncClient, tenant: Tenant, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        body: dict[str, Any] = (
            await client.get(f"/v1/jobs/{job_id}", headers=tenant.headers)
        ).json()
        if body["status"] in ("SUCCESS", "FAILED"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


async def traffic(client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, site: Site) -> None:
    cid = str(tenant.connection_id)
    seed(site, projects=1, per_project=5, users=2)
    r = await client.post(f"/v1/provisioning/connections/{cid}/test", headers=tenant.headers)
    assert r.status_code == 200, r.text
    await run_sync(runtime, uuid.UUID(cid), full=True)
    r = await client.get("/v1/itsm/tickets", headers=tenant.headers, params={"limit": 5})
    assert r.status_code == 200, r.text
    one = r.json()["items"][0]["id"]
    assert (await client.get(f"/v1/itsm/tickets/{one}", headers=tenant.headers)).status_code == 200
    assert (await client.get("/no/such/path/12345")).status_code == 404
    body = {"tickets": [{"name": SECRET_SUMMARY, "project_vendor_id": "ACME", "type": "Task"}]}
    r = await client.post("/v1/itsm/tickets/bulk", json=body, headers=tenant.headers)
    assert r.status_code == 202, r.text
    assert (await wait_job(client, tenant, r.json()["job_id"]))["status"] == "SUCCESS"
    # Every call answered 429: retried after Retry-After, then passed on as a 429.
    site.faults.configure({"rate_limit": {"share": 1.0, "retry_after": 1}})
    r = await client.get("/v1/itsm/passthrough/projects/ACME/issue-types", headers=tenant.headers)
    assert r.status_code == 429, r.text
    site.faults.configure({})


async def test_each_series_appears_after_traffic(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, fake_site: Site
) -> None:
    await traffic(client, tenant, runtime, fake_site)
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples = parse(r.text)
    cid = str(tenant.connection_id)

    def labels_of(name: str) -> list[dict[str, str]]:
        assert name in samples, f"{name} missing from /metrics"
        return [labels for labels, _ in samples[name]]

    routes = {
        (x["route"], x["status"])
        for x in labels_of("ticketbridge_http_request_duration_seconds_count")
    }
    assert ("/v1/itsm/tickets/{ticket_id}", "200") in routes
    assert ("/v1/itsm/passthrough/projects/{project_key}/issue-types", "429") in routes
    assert ("<unmatched>", "404") in routes
    vendor = {(x["endpoint"], x["status"]) for x in labels_of("ticketbridge_vendor_requests_total")}
    assert ("/rest/api/3/myself", "200") in vendor
    assert ("/rest/api/3/issue/bulk", "201") in vendor
    assert ("/rest/api/3/issue/createmeta/{id}/issuetypes", "429") in vendor
    assert {x["endpoint"] for x in labels_of("ticketbridge_vendor_rate_limited_total")} >= {
        "/rest/api/3/issue/createmeta/{id}/issuetypes"
    }
    assert "429" in {x["reason"] for x in labels_of("ticketbridge_vendor_retries_total")}
    jobs = {(x["type"], x["outcome"]) for x in labels_of("ticketbridge_job_duration_seconds_count")}
    assert any(outcome == "SUCCESS" for _, outcome in jobs), jobs
    assert {x["status"] for x in labels_of("ticketbridge_job_queue_depth")} == {"QUEUED", "RUNNING"}
    syncs = labels_of("ticketbridge_sync_duration_seconds_count")
    assert {"mode": "full", "outcome": "SUCCESS"} in syncs
    last = labels_of("ticketbridge_sync_last_duration_seconds")
    assert {"connection_id": cid, "outcome": "SUCCESS"} in last
    assert {"connection_id": cid} in labels_of("ticketbridge_sync_lag_seconds")
    tickets = dict((x["connection_id"], v) for x, v in samples["ticketbridge_tickets"])
    assert tickets[cid] >= 1


async def test_no_label_carries_secrets_hosts_paths_or_content(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, fake_site: Site
) -> None:
    await traffic(client, tenant, runtime, fake_site)
    text = (await client.get("/metrics")).text
    forbidden = [
        tenant.api_key,
        tenant.api_key[:12],
        "fake-token",
        "acme.atlassian.net",
        SECRET_SUMMARY,
        "admin@example.com",
        "/no/such/path",
        "DEMO-",
    ]
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for value in sample.labels.values():
                for bad in forbidden:
                    assert bad not in value, (sample.name, sample.labels)


async def test_disabled_metrics_is_404(settings: Any, vendor_transport: Any) -> None:
    from ticketbridge.app import create_app

    app = create_app(
        settings.model_copy(update={"metrics_enabled": False}), vendor_transport=vendor_transport
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tb.test") as c:
            assert (await c.get("/metrics")).status_code == 404
