"""Small helpers for API tests: accounts with keys, organizations, connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from ticketbridge.provisioning.service import create_api_key
from ticketbridge.runtime import Runtime

FAKE_JIRA_URL = "https://acme.atlassian.net"


@dataclass
class Tenant:
    api_key: str
    org_id: str | None = None
    connection_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        h = {"X-API-KEY": self.api_key}
        if self.connection_id:
            h["X-CONNECTION-ID"] = self.connection_id
        return h


async def make_key(runtime: Runtime, account: str) -> str:
    async with runtime.session() as session:
        _, plain = await create_api_key(session, name="test", account_name=account)
    return plain


def jira_credentials(**over: Any) -> dict[str, Any]:
    creds = {"base_url": FAKE_JIRA_URL, "email": "admin@example.com", "api_token": "fake-token"}
    creds.update(over)
    return creds


async def make_tenant(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: str,
    *,
    options: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
) -> Tenant:
    tenant = Tenant(api_key=await make_key(runtime, account))
    r = await client.post(
        "/v1/provisioning/organizations", json={"name": f"{account} org"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    tenant.org_id = r.json()["id"]
    r = await client.post(
        f"/v1/provisioning/organizations/{tenant.org_id}/connections",
        json={
            "vendor": "JIRA",
            "credentials": credentials or jira_credentials(),
            "options": options or {},
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    tenant.connection_id = r.json()["id"]
    return tenant
