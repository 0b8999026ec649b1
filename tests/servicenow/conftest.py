"""ServiceNow connections through the public API, against the ServiceNow emulator.

Vendor traffic is routed by host: ``*.service-now.com`` to fakeservicenow, the rest to fakejira
(so a test may hold a Jira tenant beside a ServiceNow one). ``snow`` is account "acme" with a
ServiceNow connection to the ``acme`` instance as the ``integration`` user (role itil), with
two more assignable people (``dev``, ``ops``), one user without the role and two groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.fixtures.servicenow import VendorRouter
from tests.fixtures.tenants import Tenant, make_tenant
from ticketbridge.fakejira import FakeJiraState
from ticketbridge.fakejira import create_app as create_fake_jira
from ticketbridge.fakeservicenow import FakeServiceNowState, Instance
from ticketbridge.fakeservicenow import create_app as create_fake_servicenow
from ticketbridge.runtime import Runtime

TICKETS = "/v1/itsm/tickets"
BATCH = "POST /api/now/v1/batch"
CREATE = "POST /api/now/table/incident"
INSTANCE_URL = "https://acme.service-now.com"


def snow_credentials(**over: Any) -> dict[str, Any]:
    creds: dict[str, Any] = {
        "instance": "acme",
        "username": "integration",
        "password": "fake-password",
    }
    creds.update(over)
    return {k: v for k, v in creds.items() if v is not None}


async def make_snow_tenant(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: str,
    *,
    credentials: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> Tenant:
    return await make_tenant(
        client,
        runtime,
        account,
        options=options,
        credentials=credentials or snow_credentials(),
        vendor="SERVICENOW",
    )


@dataclass
class People:
    """sys_ids of the instance's people and groups."""

    integration: str
    dev: str
    ops: str
    outsider: str  # active, but without the itil role: not assignable
    network: str  # group
    database: str  # group


@pytest.fixture
def vendor_transport(
    fake_jira: FakeJiraState, fake_servicenow: FakeServiceNowState
) -> httpx.AsyncBaseTransport:
    return VendorRouter(
        {".service-now.com": create_fake_servicenow(fake_servicenow)},
        default=create_fake_jira(fake_jira),
    )


@pytest.fixture
def people(fake_instance: Instance) -> People:
    integration = fake_instance.user_by_name("integration")
    assert integration is not None
    dev = fake_instance.add_user("dev", "Dev One", roles=("itil",), email="dev@example.com")
    ops = fake_instance.add_user("ops", "Ops Two", roles=("itil",), email="ops@example.com")
    outsider = fake_instance.add_user("outsider", "Out Sider", email="out@example.com")
    network = fake_instance.add_group("Network", members=[dev["sys_id"]], email="net@example.com")
    database = fake_instance.add_group("Database", members=[ops["sys_id"]])
    return People(
        integration["sys_id"],
        dev["sys_id"],
        ops["sys_id"],
        outsider["sys_id"],
        network["sys_id"],
        database["sys_id"],
    )


@pytest.fixture
async def snow(client: httpx.AsyncClient, runtime: Runtime, people: People) -> Tenant:
    return await make_snow_tenant(client, runtime, "acme")


@pytest.fixture
async def other_snow(client: httpx.AsyncClient, runtime: Runtime, people: People) -> Tenant:
    """A second account ("globex") with its own connection to the same instance."""
    return await make_snow_tenant(client, runtime, "globex")


def incident(instance: Instance, sys_id: str) -> dict[str, str]:
    record = instance.get("incident", sys_id)
    assert record is not None, f"no incident {sys_id}"
    return record


def incidents(instance: Instance) -> list[dict[str, str]]:
    return list(instance.rows("incident"))


async def create(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> httpx.Response:
    return await client.post(
        TICKETS, json={"name": "Printer on fire", **body}, headers=tenant.headers
    )


async def created(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    r = await create(client, tenant, **body)
    assert r.status_code == 200, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


async def bulk_sync(client: httpx.AsyncClient, tenant: Tenant, tickets: list[Any]) -> Any:
    """``POST …/bulk/sync``, answered 200: its body."""
    r = await client.post(f"{TICKETS}/bulk/sync", json={"tickets": tickets}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def update(
    client: httpx.AsyncClient, tenant: Tenant, ticket_id: str, **body: Any
) -> httpx.Response:
    return await client.patch(f"{TICKETS}/{ticket_id}", json=body, headers=tenant.headers)
