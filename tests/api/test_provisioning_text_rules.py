"""Organization and connection names and identifiers: no control or bidi-override
characters (they would reach logs, terminals and admin screens disguised)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant, jira_credentials, make_key
from ticketbridge.runtime import Runtime

ORGS = "/v1/provisioning/organizations"
BAD = ["acme\x00", "acme\x1b[2J", "acme\u202egnp.exe", "acme\u2067x", "two\nlines"]


@pytest.fixture
async def owner(runtime: Runtime) -> Tenant:
    return Tenant(api_key=await make_key(runtime, "acme"))


async def org_count(client: httpx.AsyncClient, owner: Tenant) -> int:
    r = await client.get(ORGS, headers=owner.headers)
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


class TestOrganizationText:
    @pytest.mark.parametrize("field", ["name", "external_id"])
    @pytest.mark.parametrize("value", BAD)
    async def test_refused_naming_the_field(
        self, client: httpx.AsyncClient, owner: Tenant, field: str, value: str
    ) -> None:
        body = {"name": "Acme", field: value}
        r = await client.post(ORGS, json=body, headers=owner.headers)
        assert r.status_code == 422 and field in r.text
        assert await org_count(client, owner) == 0


class TestConnectionText:
    @pytest.mark.parametrize("value", BAD)
    async def test_identifier_refused_on_create_and_update(
        self, client: httpx.AsyncClient, owner: Tenant, value: str
    ) -> None:
        org = (await client.post(ORGS, json={"name": "Acme"}, headers=owner.headers)).json()
        url = f"{ORGS}/{org['id']}/connections"
        body: dict[str, Any] = {"vendor": "JIRA", "credentials": jira_credentials()}
        r = await client.post(url, json={**body, "identifier": value}, headers=owner.headers)
        assert r.status_code == 422 and "identifier" in r.text
        listed = await client.get(url, headers=owner.headers)
        assert listed.json()["total"] == 0

        created = await client.post(url, json={**body, "identifier": "ok"}, headers=owner.headers)
        assert created.status_code == 201, created.text
        conn_url = f"/v1/provisioning/connections/{created.json()['id']}"
        r = await client.patch(conn_url, json={"identifier": value}, headers=owner.headers)
        assert r.status_code == 422 and "identifier" in r.text
        assert (await client.get(conn_url, headers=owner.headers)).json()["identifier"] == "ok"
