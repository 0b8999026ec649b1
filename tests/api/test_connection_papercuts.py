"""Connections and jobs as the docs describe them: a disabled connection's
state, timeout_secs, partial credential updates, unique identifiers, the default refresh
interval's bounds, and the connection a job belongs to."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.fixtures.tenants import Tenant, jira_credentials
from ticketbridge.config import Settings
from ticketbridge.fakejira import FakeJiraState
from ticketbridge.fakejira import create_app as create_fake_jira

CONN = "/v1/provisioning/connections"


class RecordingTransport(httpx.AsyncBaseTransport):
    """fakejira in-process, remembering the timeouts each vendor request was sent with."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.timeouts: list[dict[str, float]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.timeouts.append(dict(request.extensions.get("timeout", {})))
        return await self.inner.handle_async_request(request)


@pytest.fixture
def vendor_transport(fake_jira: FakeJiraState) -> RecordingTransport:
    return RecordingTransport(httpx.ASGITransport(app=create_fake_jira(fake_jira)))


async def patch(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(f"{CONN}/{tenant.connection_id}", json=body, headers=tenant.headers)


class TestState:
    async def test_disabled_connection_says_inactive(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        r = await patch(client, tenant, {"is_active": False})
        assert r.status_code == 200 and r.json()["state"] == "INACTIVE", r.text
        got = await client.get(f"{CONN}/{tenant.connection_id}", headers=tenant.headers)
        assert got.json()["state"] == "INACTIVE"
        assert (await patch(client, tenant, {"is_active": True})).json()["state"] == "ACTIVE"


class TestTimeout:
    async def test_timeout_secs_caps_each_vendor_request(
        self, client: httpx.AsyncClient, tenant: Tenant, vendor_transport: RecordingTransport
    ) -> None:
        assert (await patch(client, tenant, {"timeout_secs": 7})).status_code == 200
        vendor_transport.timeouts.clear()
        r = await client.post(f"{CONN}/{tenant.connection_id}/test", headers=tenant.headers)
        assert r.json()["health"] == "HEALTHY", r.text
        assert vendor_transport.timeouts and all(
            t["read"] == 7 for t in vendor_transport.timeouts
        ), vendor_transport.timeouts
        # Never above the service's own VENDOR_TIMEOUT_SECS (30 s by default).
        assert (await patch(client, tenant, {"timeout_secs": 3600})).status_code == 200
        vendor_transport.timeouts.clear()
        await client.post(f"{CONN}/{tenant.connection_id}/test", headers=tenant.headers)
        assert all(t["read"] == 30 for t in vendor_transport.timeouts)


class TestPartialCredentials:
    async def test_only_the_token_changes_the_rest_is_kept(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        r = await patch(client, tenant, {"credentials": {"api_token": "new-token-1234"}})
        assert r.status_code == 200, r.text
        creds = r.json()["credentials"]
        assert creds["base_url"] == jira_credentials()["base_url"]
        assert creds["email"] == "admin@example.com"
        assert "new-token-1234" not in r.text
        test = await client.post(f"{CONN}/{tenant.connection_id}/test", headers=tenant.headers)
        assert "HTTP 401" in test.json()["detail"], test.text  # the new token reached Jira
        r = await patch(client, tenant, {"credentials": {"api_token": "fake-token"}})
        test = await client.post(f"{CONN}/{tenant.connection_id}/test", headers=tenant.headers)
        assert test.json()["health"] == "HEALTHY", test.text

    async def test_a_new_base_url_needs_the_token_and_passes_the_url_policy(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        r = await patch(
            client, tenant, {"credentials": {"base_url": "https://other.atlassian.net"}}
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", "credentials", "api_token"]
        r = await patch(
            client, tenant, {"credentials": {"base_url": "ftp://other.example", "api_token": "t"}}
        )
        assert r.status_code == 422 and "base_url" in r.text, r.text


class TestIdentifier:
    async def test_unique_per_account(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        assert (await patch(client, tenant, {"identifier": "eu-prod"})).status_code == 200
        body = {"vendor": "JIRA", "credentials": jira_credentials(), "identifier": "eu-prod"}
        url = f"/v1/provisioning/organizations/{tenant.org_id}/connections"
        r = await client.post(url, json=body, headers=tenant.headers)
        assert r.status_code == 409 and "eu-prod" in r.json()["detail"], r.text
        second = await client.post(
            url, json={**body, "identifier": "eu-test"}, headers=tenant.headers
        )
        assert second.status_code == 201
        r = await client.patch(
            f"{CONN}/{second.json()['id']}", json={"identifier": "eu-prod"}, headers=tenant.headers
        )
        assert r.status_code == 409, r.text
        # The same label in another account is that account's business.
        assert (await patch(client, other_tenant, {"identifier": "eu-prod"})).status_code == 200
        # Re-sending a connection's own identifier is no conflict.
        assert (await patch(client, tenant, {"identifier": "eu-prod"})).status_code == 200


def test_default_refresh_interval_has_the_api_bounds() -> None:
    for bad in (5, 8 * 86400):
        with pytest.raises(ValidationError, match="default_refresh_interval_secs"):
            Settings(default_refresh_interval_secs=bad)
    assert Settings(default_refresh_interval_secs=60).default_refresh_interval_secs == 60


async def test_jobs_say_which_connection_they_belong_to(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ticketbridge.bulk.create.SETTLE_SECS", 0.0)
    body = {"tickets": [{"name": "t", "project_vendor_id": "DEMO", "type": "Task"}]}
    r = await client.post("/v1/itsm/tickets/bulk", json=body, headers=tenant.headers)
    job_id = r.json()["job_id"]
    for _ in range(200):
        job = (await client.get(f"/v1/jobs/{job_id}", headers=tenant.headers)).json()
        if job["status"] in ("SUCCESS", "FAILED"):
            break
        await asyncio.sleep(0.05)
    assert job["connection_id"] == tenant.connection_id
    listed = (await client.get("/v1/jobs", headers=tenant.headers)).json()["items"]
    assert listed[0]["connection_id"] == tenant.connection_id
