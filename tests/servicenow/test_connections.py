"""ServiceNow connections: credentials (instance name or URL under the URL policy, basic auth
or an OAuth client), ``/test``, and the tenancy and exactly-once rules every vendor keeps:
isolation between connections to one instance, identifiers unique per connection (found at
the vendor without a sync), Idempotency-Key replays, ambiguous creates applied once."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import delete

from tests.fixtures.servicenow import servicenow_calls
from tests.fixtures.store import stored, tickets_of
from tests.fixtures.tenants import Tenant, cid, make_tenant
from tests.servicenow.conftest import (
    People,
    create,
    created,
    incidents,
    make_snow_tenant,
    snow_credentials,
)
from ticketbridge.fakeservicenow import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Instance
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Connection, Ticket
from ticketbridge.tickets.identifiers import mark_unjournaled

CONNECTIONS = "/v1/provisioning/connections"


async def test_connection(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, object]:
    r = await client.post(f"{CONNECTIONS}/{tenant.connection_id}/test", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


class TestCredentials:
    async def test_instance_name_becomes_the_instance_url_and_secrets_are_masked(
        self, client: httpx.AsyncClient, snow: Tenant
    ) -> None:
        r = await client.get(f"{CONNECTIONS}/{snow.connection_id}", headers=snow.headers)
        body = r.json()
        assert body["vendor"] == "SERVICENOW"
        assert body["credentials"]["instance"] == "https://acme.service-now.com"
        assert body["credentials"]["password"] == "****word"
        assert "fake-password" not in r.text

    @pytest.mark.parametrize(
        ("credentials", "field"),
        [
            (
                {"instance": "https://acme.service-now.com/?x=1", "username": "a", "password": "b"},
                "instance",
            ),
            ({"instance": "acme", "username": "a"}, "credentials"),
            ({"instance": "acme", "client_id": "x"}, "credentials"),
            ({"instance": "acme", "username": "a", "password": "b", "api_token": "c"}, "api_token"),
        ],
    )
    async def test_invalid_credentials_are_422(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        credentials: dict[str, str],
        field: str,
    ) -> None:
        r = await client.post(
            f"/v1/provisioning/organizations/{tenant.org_id}/connections",
            json={"vendor": "SERVICENOW", "credentials": credentials},
            headers=tenant.headers,
        )
        assert r.status_code == 422 and field in r.text, r.text
        assert "fake-password" not in r.text

    async def test_unknown_option_and_table_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for options in ({"table": "sys_user"}, {"project_keys_filter": ["X"]}):
            r = await client.post(
                f"/v1/provisioning/organizations/{tenant.org_id}/connections",
                json={
                    "vendor": "SERVICENOW",
                    "credentials": snow_credentials(),
                    "options": options,
                },
                headers=tenant.headers,
            )
            assert r.status_code == 422 and "options" in r.text


class TestConnectionTest:
    async def test_basic_auth_is_healthy_and_names_the_user(
        self, client: httpx.AsyncClient, snow: Tenant, people: People
    ) -> None:
        body = await test_connection(client, snow)
        assert body["health"] == "HEALTHY"
        assert body["vendor_account_id"] == people.integration
        assert body["vendor_account_name"] == "Integration User"

    async def test_a_wrong_password_is_unhealthy(
        self, client: httpx.AsyncClient, runtime: Runtime, people: People
    ) -> None:
        tenant = await make_snow_tenant(
            client, runtime, "acme", credentials=snow_credentials(password="wrong")
        )
        body = await test_connection(client, tenant)
        assert body["health"] == "UNHEALTHY"
        assert "rejected the connection's credentials" in str(body["detail"])

    async def test_oauth_client_credentials(
        self, client: httpx.AsyncClient, runtime: Runtime, people: People, fake_instance: Instance
    ) -> None:
        tenant = await make_snow_tenant(
            client,
            runtime,
            "acme",
            credentials={
                "instance": "https://acme.service-now.com",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        )
        assert (await test_connection(client, tenant))["health"] == "HEALTHY"
        ticket = await created(client, tenant, name="Through OAuth")
        assert ticket["vendor_attributes"]["vendor"] == "SERVICENOW"
        # The token is reused: one token request for the test and the create.
        assert servicenow_calls(fake_instance, "POST /oauth_token.do") == 1

    async def test_a_wrong_client_secret_is_unhealthy(
        self, client: httpx.AsyncClient, runtime: Runtime, people: People
    ) -> None:
        tenant = await make_snow_tenant(
            client,
            runtime,
            "acme",
            credentials={"instance": "acme", "client_id": DEFAULT_CLIENT_ID, "client_secret": "no"},
        )
        body = await test_connection(client, tenant)
        assert body["health"] == "UNHEALTHY" and "OAuth" in str(body["detail"])


class TestIsolation:
    async def test_two_connections_to_one_instance_keep_their_identifiers_apart(
        self,
        client: httpx.AsyncClient,
        snow: Tenant,
        other_snow: Tenant,
        runtime: Runtime,
        fake_instance: Instance,
    ) -> None:
        mine = await created(client, snow, identifier="SAME")
        theirs = await created(client, other_snow, identifier="SAME")
        assert mine["vendor_attributes"]["id"] != theirs["vendor_attributes"]["id"]
        assert len(incidents(fake_instance)) == 2
        r = await client.get(f"/v1/itsm/tickets/{mine['id']}", headers=other_snow.headers)
        assert r.status_code == 404
        assert [str(t.id) for t in await tickets_of(runtime, other_snow)] == [theirs["id"]]

    async def test_a_jira_and_a_servicenow_tenant_side_by_side(
        self, client: httpx.AsyncClient, snow: Tenant, runtime: Runtime, fake_instance: Instance
    ) -> None:
        jira = await make_tenant(client, runtime, "globex")
        await created(client, snow, name="In ServiceNow")
        r = await client.post(
            "/v1/itsm/tickets",
            json={"name": "In Jira", "project_vendor_id": "DEMO", "type": "Task"},
            headers=jira.headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["vendor_attributes"]["vendor"] == "JIRA"
        assert [r["short_description"] for r in incidents(fake_instance)] == ["In ServiceNow"]


class TestExactlyOnce:
    async def test_a_known_identifier_is_409_without_a_sync(
        self, client: httpx.AsyncClient, snow: Tenant, runtime: Runtime, fake_instance: Instance
    ) -> None:
        # Created at the vendor by an earlier bulk call of an older release, which stored no
        # rows and wrote no identifier journal (the connection is marked unjournaled).
        await client.post(
            "/v1/itsm/tickets/bulk/sync",
            json={"tickets": [{"name": "x", "identifier": "KNOWN"}]},
            headers=snow.headers,
        )
        async with runtime.session() as s:
            await s.execute(delete(Ticket))
            [conn] = await stored(runtime, Connection, id=cid(snow))
            await mark_unjournaled(s, conn)
            await s.commit()
        r = await create(client, snow, identifier="KNOWN")
        assert r.status_code == 409 and "ServiceNow issue INC" in r.text
        assert len(incidents(fake_instance)) == 1

    @pytest.mark.parametrize("mode", ["5xx", "drop"])
    async def test_an_ambiguous_create_is_applied_once(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, mode: str
    ) -> None:
        fake_instance.faults.configure(
            {"ambiguous": {"mode": mode, "count": 1, "routes": ["POST /api/now/table/incident"]}}
        )
        ticket = await created(client, snow, name="Once", identifier="ONCE")
        [record] = incidents(fake_instance)
        assert ticket["vendor_attributes"]["id"] == record["sys_id"]
        assert servicenow_calls(fake_instance, "POST /api/now/table/incident") == 1

    async def test_an_idempotency_key_replays_the_answer(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        headers = {**snow.headers, "Idempotency-Key": "create-once-snow"}
        body = {"name": "Replayed"}
        first = await client.post("/v1/itsm/tickets", json=body, headers=headers)
        again = await client.post("/v1/itsm/tickets", json=body, headers=headers)
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        assert len(incidents(fake_instance)) == 1
