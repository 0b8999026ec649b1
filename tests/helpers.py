"""Small helpers for tests: accounts with keys, organizations, connections; scratch
PostgreSQL databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

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


@contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """Create database ``name`` on the PostgreSQL server of ``server_url``; yield its URL and
    drop it (with any connection left open) at the end."""
    admin = make_url(server_url).render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
