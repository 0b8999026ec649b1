"""Creating and updating ServiceNow tickets through ``/v1/itsm/tickets``: the mapping of
docs/vendors/servicenow.md as the emulator stores it, by vendor ids and by synced UUIDs."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.tenants import Tenant, cid
from tests.servicenow.conftest import People, create, created, incident, incidents, update
from ticketbridge.connectors import marker_label
from ticketbridge.fakeservicenow import Instance
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync


class TestCreateByVendorIds:
    async def test_fields_land_where_the_mapping_says(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, people: People
    ) -> None:
        ticket = await created(
            client,
            snow,
            name="Printer on fire",
            description="Smoke from tray 2.\nSecond line.",
            priority="HIGH",
            type_vendor_id="hardware",
            assigned_user_vendor_id=people.dev,
            identifier="VULN-1",
            custom_fields={"u_team": "facilities"},
        )
        record = incident(fake_instance, ticket["vendor_attributes"]["id"])
        assert record["short_description"] == "Printer on fire"
        assert record["description"] == "Smoke from tray 2.\nSecond line."
        assert (record["impact"], record["urgency"], record["priority"]) == ("1", "2", "2")
        assert record["category"] == "hardware"
        assert record["assigned_to"] == people.dev
        assert record["correlation_id"] == "VULN-1"
        assert record["correlation_display"] == marker_label(snow.connection_id or "", "VULN-1")
        assert record["u_team"] == "facilities"
        assert record["state"] == "1"
        # The answer is ServiceNow's view, normalized.
        assert ticket["identifier"] == "VULN-1"
        assert ticket["name"] == "Printer on fire"
        assert ticket["priority"] == "HIGH" and ticket["status"] == "OPEN"
        assert ticket["type"] == "Hardware"
        assert ticket["project_id"] is None and ticket["project_vendor_id"] is None
        assert ticket["assigned_user_vendor_id"] == people.dev
        assert ticket["url"] == (
            f"https://acme.service-now.com/incident.do?sys_id={record['sys_id']}"
        )
        attributes = ticket["vendor_attributes"]
        assert attributes["vendor"] == "SERVICENOW"
        assert attributes["data"]["vendor"] == "SERVICENOW"
        assert attributes["data"]["key"] == record["number"]
        assert attributes["data"]["customFields"] == {"u_team": "facilities"}
        assert attributes["status"] == "New" and attributes["priority"] == "2 - High"

    async def test_no_project_and_no_type_are_needed(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        ticket = await created(client, snow, name="Bare")
        [record] = incidents(fake_instance)
        assert record["short_description"] == "Bare"
        assert ticket["identifier"].startswith("tb-")
        assert record["correlation_id"] == ticket["identifier"]

    async def test_the_table_is_the_only_project_vendor_id(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        assert (await create(client, snow, project_vendor_id="incident")).status_code == 200
        r = await create(client, snow, project_vendor_id="problem")
        assert r.status_code == 422 and "project_vendor_id" in r.text
        assert len(incidents(fake_instance)) == 1

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("assigned_user_vendor_id", "not-a-sys-id"),
            ("parent_ticket_vendor_id", "DEMO-1"),
            ("type_vendor_id", "bad^value"),
        ],
    )
    async def test_ids_outside_servicenows_grammar_are_422(
        self,
        client: httpx.AsyncClient,
        snow: Tenant,
        fake_instance: Instance,
        field: str,
        value: str,
    ) -> None:
        r = await create(client, snow, **{field: value})
        assert r.status_code == 422 and field in r.text, r.text
        assert incidents(fake_instance) == []

    async def test_jira_custom_fields_are_422_for_servicenow(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        r = await create(client, snow, custom_fields={"customfield_10010": 1})
        assert r.status_code == 422 and "custom_fields" in r.text
        assert incidents(fake_instance) == []

    async def test_type_by_category_label(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        ticket = await created(client, snow, type="network")
        assert incident(fake_instance, ticket["vendor_attributes"]["id"])["category"] == "network"
        r = await create(client, snow, type="Plumbing")
        assert r.status_code == 422 and "Inquiry / Help" in r.text

    async def test_parent_by_number(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        parent = await created(client, snow, name="Parent")
        number = parent["vendor_attributes"]["data"]["key"]
        child = await created(client, snow, name="Child", parent_ticket_vendor_id=number)
        record = incident(fake_instance, child["vendor_attributes"]["id"])
        assert record["parent_incident"] == parent["vendor_attributes"]["id"]
        assert child["parent_ticket_vendor_id"] == number
        assert child["parent_ticket_id"] == parent["id"]


class TestStatusPaths:
    @pytest.mark.parametrize(
        ("status", "state"),
        [("OPEN", "1"), ("TODO", "1"), ("IN_PROGRESS", "2"), ("IN_REVIEW", "3")],
    )
    async def test_open_states(
        self,
        client: httpx.AsyncClient,
        snow: Tenant,
        fake_instance: Instance,
        status: str,
        state: str,
    ) -> None:
        ticket = await created(client, snow, status=status)
        assert incident(fake_instance, ticket["vendor_attributes"]["id"])["state"] == state
        assert ticket["status"] == ("OPEN" if status == "TODO" else status)

    async def test_resolving_writes_the_resolution_defaults(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        ticket = await created(client, snow, status="RESOLVED")
        record = incident(fake_instance, ticket["vendor_attributes"]["id"])
        assert record["state"] == "6"
        assert record["close_code"] == "Solution provided"
        assert record["close_notes"] == "Resolved through ticketbridge"
        assert ticket["status"] == "RESOLVED" and ticket["closed_at"] is not None

    async def test_resolution_can_be_given_and_configured(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, runtime: Runtime
    ) -> None:
        ticket = await created(client, snow)
        r = await update(
            client,
            snow,
            ticket["id"],
            status="CLOSED",
            custom_fields={"close_code": "Duplicate", "close_notes": "Same as INC1"},
        )
        assert r.status_code == 200, r.text
        record = incident(fake_instance, ticket["vendor_attributes"]["id"])
        assert (record["state"], record["close_code"]) == ("7", "Duplicate")
        assert record["close_notes"] == "Same as INC1"
        assert r.json()["status"] == "CLOSED" and r.json()["active"] is True

    async def test_reopening_clears_closed_at(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        ticket = await created(client, snow, status="RESOLVED")
        r = await update(client, snow, ticket["id"], status="IN_PROGRESS")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "IN_PROGRESS" and r.json()["closed_at"] is None
        assert incident(fake_instance, ticket["vendor_attributes"]["id"])["state"] == "2"


class TestUpdate:
    async def test_only_sent_fields_change(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, people: People
    ) -> None:
        ticket = await created(
            client, snow, description="keep me", assigned_user_vendor_id=people.dev
        )
        r = await update(client, snow, ticket["id"], name="Renamed", priority="CRITICAL")
        assert r.status_code == 200, r.text
        record = incident(fake_instance, ticket["vendor_attributes"]["id"])
        assert record["short_description"] == "Renamed"
        assert record["description"] == "keep me" and record["assigned_to"] == people.dev
        assert (record["impact"], record["urgency"], record["priority"]) == ("1", "1", "1")
        assert r.json()["priority"] == "CRITICAL"

    async def test_unassign_and_clear_description(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance, people: People
    ) -> None:
        ticket = await created(client, snow, description="x", assigned_user_vendor_id=people.dev)
        r = await update(client, snow, ticket["id"], assigned_user_vendor_id=None, description=None)
        assert r.status_code == 200, r.text
        record = incident(fake_instance, ticket["vendor_attributes"]["id"])
        assert record["assigned_to"] == "" and record["description"] == ""
        assert r.json()["assigned_user_vendor_id"] is None

    async def test_tags_are_refused(
        self, client: httpx.AsyncClient, snow: Tenant, fake_instance: Instance
    ) -> None:
        ticket = await created(client, snow)
        r = await update(client, snow, ticket["id"], tags=["a"])
        assert r.status_code == 422 and "tags" in r.text


class TestCreateByUuid:
    async def test_synced_assignee_parent_and_type_name(
        self,
        client: httpx.AsyncClient,
        snow: Tenant,
        fake_instance: Instance,
        people: People,
        runtime: Runtime,
    ) -> None:
        parent = await created(client, snow, name="Parent")
        await run_sync(runtime, cid(snow), full=True)
        users = (await client.get("/v1/itsm/users", headers=snow.headers)).json()["items"]
        dev = next(u for u in users if u["vendor_id"] == people.dev)
        child = await created(
            client,
            snow,
            name="Child",
            assigned_user_id=dev["id"],
            parent_ticket_id=parent["id"],
            type="Database",
        )
        record = incident(fake_instance, child["vendor_attributes"]["id"])
        assert record["assigned_to"] == people.dev
        assert record["parent_incident"] == parent["vendor_attributes"]["id"]
        assert record["category"] == "database"
        assert child["assigned_user_id"] == dev["id"]
        assert child["parent_ticket_id"] == parent["id"]
