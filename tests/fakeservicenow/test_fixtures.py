"""The shared ServiceNow fixtures (tests/fixtures/servicenow.py) serve what they promise."""

from __future__ import annotations

import httpx

from tests.fixtures.servicenow import (
    FAKE_SERVICENOW_URL,
    SERVICENOW_INTEGRATION,
    VendorRouter,
    seed_servicenow,
    servicenow_calls,
)
from ticketbridge.fakejira import create_app as create_fake_jira
from ticketbridge.fakeservicenow import FakeServiceNowState, Instance, create_app


async def test_transport_reaches_the_acme_instance(
    fake_instance: Instance, servicenow_transport: httpx.AsyncBaseTransport
) -> None:
    seed_servicenow(fake_instance, incidents=12)
    async with httpx.AsyncClient(
        transport=servicenow_transport, base_url=FAKE_SERVICENOW_URL, auth=SERVICENOW_INTEGRATION
    ) as c:
        response = await c.get("/api/now/table/incident", params={"sysparm_limit": "5"})
    assert response.headers["X-Total-Count"] == "12"
    assert servicenow_calls(fake_instance, "GET /api/now/table/incident") == 1


async def test_vendor_router_sends_each_host_to_its_emulator(
    fake_servicenow: FakeServiceNowState,
) -> None:
    router = VendorRouter(
        {".service-now.com": create_app(fake_servicenow)}, default=create_fake_jira()
    )
    async with httpx.AsyncClient(transport=router) as c:
        snow = await c.get(
            f"{FAKE_SERVICENOW_URL}/api/now/table/sys_user", auth=SERVICENOW_INTEGRATION
        )
        jira = await c.get("https://acme.atlassian.net/rest/api/3/serverInfo")
    assert snow.status_code == 200 and "result" in snow.json()
    assert jira.status_code == 200 and jira.json()["deploymentType"] == "Cloud"
