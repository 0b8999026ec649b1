"""The marker label every created issue carries stays out of the caller's tags after a sync."""

from __future__ import annotations

import uuid

import httpx

from tests.fixtures.tenants import Tenant
from tests.fixtures.tickets import created, jira_issue
from ticketbridge.connectors.jira.markers import is_marker_label
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync


class TestMarkersAfterSync:
    async def test_sync_keeps_the_marker_out_of_tags(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site, runtime: Runtime
    ) -> None:
        ticket = await created(client, tenant, tags=["ops", "db"])
        labels = jira_issue(fake_site, ticket).labels
        assert any(is_marker_label(label) for label in labels)  # the marker is in Jira

        await run_sync(runtime, uuid.UUID(str(tenant.connection_id)), full=True)

        r = await client.get(f"/v1/itsm/tickets/{ticket['id']}", headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert sorted(r.json()["tags"]) == ["db", "ops"]
        assert r.json()["identifier"] == ticket["identifier"]
