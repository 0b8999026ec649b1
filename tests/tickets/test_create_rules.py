"""POST /v1/itsm/tickets: one form per field, required fields, status on create."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.fixtures.store import tickets_of
from tests.fixtures.tenants import Tenant, make_tenant
from tests.fixtures.tickets import DELETE, TRANSITION, calls, create, created, jira_issue
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime


class TestOneFormPerField:
    @pytest.mark.parametrize(
        ("uuid_form", "vendor_form", "vendor_value"),
        [
            ("project_id", "project_vendor_id", "DEMO"),
            ("type_id", "type_vendor_id", "10001"),
            ("assigned_user_id", "assigned_user_vendor_id", "abc"),
            ("parent_ticket_id", "parent_ticket_vendor_id", "DEMO-1"),
        ],
    )
    async def test_both_forms_are_a_422_naming_both(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        uuid_form: str,
        vendor_form: str,
        vendor_value: str,
    ) -> None:
        body = {uuid_form: str(uuid.uuid4()), vendor_form: vendor_value}
        response = await create(client, tenant, **body)
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert {tuple(e["loc"]) for e in errors} == {("body", uuid_form), ("body", vendor_form)}
        assert all(uuid_form in e["msg"] and vendor_form in e["msg"] for e in errors)
        assert ops_site.stats.total == 0

    async def test_type_name_and_type_id_are_exclusive_too(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await create(client, tenant, type="Bug", type_id=str(uuid.uuid4()))
        assert response.status_code == 422
        locs = {tuple(e["loc"]) for e in response.json()["errors"]}
        assert locs == {("body", "type"), ("body", "type_id")}

    @pytest.mark.parametrize(
        ("omit", "named"),
        [
            ("project", {("body", "project_id"), ("body", "project_vendor_id")}),
            ("type", {("body", "type"), ("body", "type_vendor_id")}),
        ],
    )
    async def test_project_and_type_are_required(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        omit: str,
        named: set[tuple[str, str]],
    ) -> None:
        body: dict[str, Any] = {"name": "x", "project_vendor_id": "DEMO", "type_vendor_id": "1"}
        body = {k: v for k, v in body.items() if not k.startswith(omit)}
        response = await client.post("/v1/itsm/tickets", json=body, headers=tenant.headers)
        assert response.status_code == 422
        assert {tuple(e["loc"]) for e in response.json()["errors"]} == named
        assert ops_site.stats.total == 0

    async def test_unknown_priority_cannot_be_written(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await create(client, tenant, priority="UNKNOWN")
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "priority"]

    async def test_custom_fields_must_be_custom_field_ids(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await create(client, tenant, custom_fields={"summary": "sneaky"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "custom_fields"]


class TestStatusOnCreate:
    @pytest.mark.parametrize(
        ("status", "jira_status", "transitions"),
        [("TODO", "To Do", 0), ("IN_PROGRESS", "In Progress", 1), ("CLOSED", "Done", 1)],
    )
    async def test_status_is_applied_with_a_transition(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        status: str,
        jira_status: str,
        transitions: int,
    ) -> None:
        ticket = await created(client, tenant, status=status)
        assert jira_issue(ops_site, ticket).status.name == jira_status
        assert ticket["status"] == status
        assert calls(ops_site, TRANSITION) == transitions

    async def test_connection_status_mapping_picks_the_transition(
        self, client: httpx.AsyncClient, runtime: Runtime, ops_site: Site
    ) -> None:
        tenant = await make_tenant(
            client, runtime, "mapped", options={"status_mapping": {"In Progress": "IN_REVIEW"}}
        )
        ticket = await created(client, tenant, status="IN_REVIEW")
        assert jira_issue(ops_site, ticket).status.name == "In Progress"
        assert ticket["status"] == "IN_REVIEW"

    async def test_open_on_a_new_issue_needs_no_transition_and_keeps_the_issue(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        # Issue #11 item 1: OPEN on a new "To Do" issue was a 409 that deleted the issue.
        ticket = await created(client, tenant, status="OPEN")
        issue = jira_issue(ops_site, ticket)
        assert issue.status.name == "To Do"
        assert calls(ops_site, TRANSITION) == 0
        assert calls(ops_site, DELETE) == 0
        assert [t.vendor_id for t in await tickets_of(runtime, tenant)] == [str(issue.id)]

    @pytest.mark.parametrize(
        ("status", "jira_status", "transitions"),
        [("OPEN", "Open", 0), ("RESOLVED", "Resolved", 2), ("CLOSED", "Closed", 3)],
    )
    async def test_classic_workflow_walks_the_path(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        status: str,
        jira_status: str,
        transitions: int,
    ) -> None:
        ops_site.add_project("CLS", "Classic", workflow="classic")
        ticket = await created(client, tenant, status=status, project_vendor_id="CLS")
        assert jira_issue(ops_site, ticket).status.name == jira_status
        assert ticket["status"] == status
        assert calls(ops_site, TRANSITION) == transitions

    async def test_an_unreachable_status_keeps_the_created_issue(
        self, client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        # Done's transition needs a field we never send: CLOSED cannot be reached.
        ops_site.set_screen("DEMO", "31", ["resolution"])
        ticket = await created(client, tenant, status="CLOSED")
        issue = jira_issue(ops_site, ticket)
        assert (issue.status.name, ticket["status"]) == ("To Do", "TODO")
        assert calls(ops_site, TRANSITION) == 0
        assert calls(ops_site, DELETE) == 0
        [row] = await tickets_of(runtime, tenant)
        assert row.vendor_id == str(issue.id)

    async def test_jira_failing_during_the_transitions_keeps_the_created_issue(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        ops_site.faults.configure(
            {"error_rate": {"share": 1.0, "status": 503, "routes": [f"{TRANSITION}"]}}
        )
        ticket = await created(client, tenant, status="IN_PROGRESS")
        assert (jira_issue(ops_site, ticket).status.name, ticket["status"]) == ("To Do", "TODO")
        assert ops_site.issues_count() == 1
        assert len(await tickets_of(runtime, tenant)) == 1
