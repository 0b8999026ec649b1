"""PATCH /v1/itsm/tickets/{ticket_id}: only the fields sent change, in Jira first."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.fixtures.store import tickets_of, user_uuid
from tests.fixtures.tenants import Tenant, make_tenant
from tests.fixtures.tickets import (
    EDIT,
    TRANSITION,
    account_of,
    calls,
    created,
    jira_issue,
    marker_labels,
    update,
)
from tests.tickets.conftest import sync
from ticketbridge.connectors.jira.adf import markdown_to_adf
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime


@pytest.fixture
async def ticket(client: httpx.AsyncClient, tenant: Tenant, ops_site: Site) -> dict[str, Any]:
    return await created(
        client,
        tenant,
        name="Original",
        description="First *draft*",
        priority="MEDIUM",
        tags=["one", "two"],
        due_date="2030-05-01",
        assigned_user_vendor_id=account_of(ops_site, "dev@example.com"),
        custom_fields={"customfield_10030": "REF-1"},
    )


async def patched(
    client: httpx.AsyncClient, tenant: Tenant, ticket: dict[str, Any], **body: Any
) -> dict[str, Any]:
    response = await update(client, tenant, ticket["id"], **body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


class TestUpdateFields:
    async def test_text_priority_and_due_date(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        result = await patched(
            client,
            tenant,
            ticket,
            name="Renamed",
            description="Now with a [link](https://example.com)",
            priority="INFORMATIONAL",
            due_date="2031-12-24",
        )
        issue = jira_issue(ops_site, ticket)
        assert issue.summary == "Renamed"
        assert issue.description == markdown_to_adf("Now with a [link](https://example.com)")
        assert issue.priority_id == "5"  # Lowest
        assert issue.duedate == "2031-12-24"
        assert result["name"] == "Renamed"
        assert result["description"] == "Now with a [link](https://example.com)"
        assert result["priority"] == "INFORMATIONAL"
        assert result["due_date"] == "2031-12-24"
        assert result["id"] == ticket["id"]
        assert result["identifier"] == ticket["identifier"]

    async def test_only_the_fields_sent_change(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        before = jira_issue(ops_site, ticket)
        snapshot = (
            before.summary,
            before.description,
            before.labels[:],
            before.duedate,
            before.assignee,
            dict(before.custom),
            before.status_id,
        )
        result = await patched(client, tenant, ticket, priority="HIGH")
        after = jira_issue(ops_site, ticket)
        assert after.priority_id == "2"
        assert (
            after.summary,
            after.description,
            after.labels,
            after.duedate,
            after.assignee,
            after.custom,
            after.status_id,
        ) == snapshot
        # The create was not read back (what only Jira knows was null); the update is.
        jira_only = ("type", "ticket_created_at", "status_updated_at")
        assert all(ticket[k] is None and result[k] is not None for k in jira_only)
        unchanged = ("priority", "updated_at", "vendor_attributes", *jira_only)
        assert {k: v for k, v in result.items() if k not in unchanged} == {
            k: v for k, v in ticket.items() if k not in unchanged
        }

    async def test_null_clears_due_date_and_description(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        result = await patched(client, tenant, ticket, due_date=None, description=None)
        issue = jira_issue(ops_site, ticket)
        assert (issue.duedate, issue.description) == (None, None)
        assert (result["due_date"], result["description"]) == (None, None)

    async def test_tags_are_replaced_and_the_marker_is_kept_hidden(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        marker = marker_labels(jira_issue(ops_site, ticket))
        result = await patched(client, tenant, ticket, tags=["three"])
        assert jira_issue(ops_site, ticket).labels == ["three", *marker]
        assert result["tags"] == ["three"]
        cleared = await patched(client, tenant, ticket, tags=None)
        assert jira_issue(ops_site, ticket).labels == marker
        assert cleared["tags"] == []

    async def test_custom_fields_are_set_and_cleared(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        result = await patched(
            client,
            tenant,
            ticket,
            custom_fields={"customfield_10030": None, "customfield_10016": 8},
        )
        assert jira_issue(ops_site, ticket).custom == {
            "customfield_10030": None,
            "customfield_10016": 8,
        }
        assert result["vendor_attributes"]["data"]["customFields"] == {"customfield_10016": 8}

    async def test_an_empty_patch_changes_nothing_and_calls_nobody(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        jira_calls = ops_site.stats.total
        result = await patched(client, tenant, ticket)
        assert result == ticket
        assert ops_site.stats.total == jira_calls


class TestAssignee:
    async def test_assign_by_vendor_id(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        ops = account_of(ops_site, "ops@example.com")
        result = await patched(client, tenant, ticket, assigned_user_vendor_id=ops)
        assert jira_issue(ops_site, ticket).assignee == ops
        assert result["assigned_user_vendor_id"] == ops

    @pytest.mark.parametrize("form", ["assigned_user_id", "assigned_user_vendor_id"])
    async def test_null_unassigns(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        ticket: dict[str, Any],
        form: str,
    ) -> None:
        result = await patched(client, tenant, ticket, **{form: None})
        assert jira_issue(ops_site, ticket).assignee is None
        assert (result["assigned_user_id"], result["assigned_user_vendor_id"]) == (None, None)

    async def test_assign_by_uuid(
        self, client: httpx.AsyncClient, synced: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        ticket = await created(client, synced)
        ops = account_of(ops_site, "ops@example.com")
        user_id = await user_uuid(runtime, synced, ops)
        result = await patched(client, synced, ticket, assigned_user_id=user_id)
        assert jira_issue(ops_site, ticket).assignee == ops
        assert result["assigned_user_id"] == user_id

    async def test_another_connections_user_is_404_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        synced: Tenant,
        other_tenant: Tenant,
        ops_site: Site,
        runtime: Runtime,
    ) -> None:
        await sync(runtime, other_tenant)
        ticket = await created(client, synced)
        theirs = await user_uuid(runtime, other_tenant, account_of(ops_site, "ops@example.com"))
        jira_calls = ops_site.stats.total
        response = await update(client, synced, ticket["id"], assigned_user_id=theirs)
        assert response.status_code == 404
        assert response.json()["detail"].startswith("assigned_user_id: ")
        assert ops_site.stats.total == jira_calls
        assert jira_issue(ops_site, ticket).assignee is None

    async def test_both_forms_are_a_422_naming_both(
        self, client: httpx.AsyncClient, tenant: Tenant, ticket: dict[str, Any]
    ) -> None:
        response = await update(
            client,
            tenant,
            ticket["id"],
            assigned_user_id=str(uuid.uuid4()),
            assigned_user_vendor_id="abc",
        )
        assert response.status_code == 422
        locs = {tuple(e["loc"]) for e in response.json()["errors"]}
        assert locs == {("body", "assigned_user_id"), ("body", "assigned_user_vendor_id")}


class TestStatusChange:
    @pytest.mark.parametrize(
        ("status", "jira_status"), [("IN_PROGRESS", "In Progress"), ("CLOSED", "Done")]
    )
    async def test_status_change_is_a_transition(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        ticket: dict[str, Any],
        status: str,
        jira_status: str,
    ) -> None:
        result = await patched(client, tenant, ticket, status=status)
        issue = jira_issue(ops_site, ticket)
        assert issue.status.name == jira_status
        assert result["status"] == status
        assert calls(ops_site, TRANSITION) == 1
        assert (result["closed_at"] is not None) is (status == "CLOSED")

    async def test_the_current_status_needs_no_transition(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        result = await patched(client, tenant, ticket, status="TODO")
        assert result["status"] == "TODO"
        assert calls(ops_site, TRANSITION) == 0

    async def test_status_and_fields_together(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        result = await patched(client, tenant, ticket, status="CLOSED", name="Fixed")
        issue = jira_issue(ops_site, ticket)
        assert (issue.status.name, issue.summary) == ("Done", "Fixed")
        assert (result["status"], result["name"]) == ("CLOSED", "Fixed")

    async def test_a_transition_screen_with_a_required_field_is_409_naming_it(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, ticket: dict[str, Any]
    ) -> None:
        ops_site.set_screen("DEMO", "31", ["resolution"])
        response = await update(client, tenant, ticket["id"], status="RESOLVED", name="No")
        assert response.status_code == 409
        detail = response.json()["detail"]
        assert "status RESOLVED needs the Jira transition 'Done'" in detail
        assert "requires Resolution (resolution)" in detail
        assert calls(ops_site, EDIT) == calls(ops_site, TRANSITION) == 0
        issue = jira_issue(ops_site, ticket)
        assert (issue.summary, issue.status.name) == ("Original", "To Do")

    @pytest.mark.parametrize(("status", "jira_status"), [("IN_REVIEW", "In Progress")])
    async def test_a_status_without_its_own_name_goes_by_category(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        ticket: dict[str, Any],
        status: str,
        jira_status: str,
    ) -> None:
        # Issue #11 item 1: IN_REVIEW and RESOLVED were 409s on Jira's default workflow.
        result = await patched(client, tenant, ticket, status=status)
        assert jira_issue(ops_site, ticket).status.name == jira_status
        assert result["status"] == "IN_PROGRESS"
        assert calls(ops_site, TRANSITION) == 1

    async def test_the_connections_status_mapping_is_used(
        self, client: httpx.AsyncClient, runtime: Runtime, ops_site: Site
    ) -> None:
        tenant = await make_tenant(
            client, runtime, "mapped", options={"status_mapping": {"Done": "RESOLVED"}}
        )
        ticket = await created(client, tenant)
        result = await patched(client, tenant, ticket, status="RESOLVED")
        assert jira_issue(ops_site, ticket).status.name == "Done"
        assert result["status"] == "RESOLVED"
        # CLOSED has no status of its own here: Done, mapped to RESOLVED, is its category's
        # fallback, and the issue is already there (no transition; the name is edited).
        transitions = calls(ops_site, TRANSITION)
        result = await patched(client, tenant, ticket, status="CLOSED", name="No")
        assert result["status"] == "RESOLVED"
        assert calls(ops_site, TRANSITION) == transitions
        assert jira_issue(ops_site, ticket).status.name == "Done"
        assert jira_issue(ops_site, ticket).summary == "No"


class TestUpdateRequests:
    async def test_unknown_ticket_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        response = await update(client, tenant, str(uuid.uuid4()), name="x")
        assert response.status_code == 404
        assert response.json()["detail"] == "ticket not found"
        assert ops_site.stats.total == 0

    async def test_another_connections_ticket_is_404_and_untouched(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        ops_site: Site,
        runtime: Runtime,
    ) -> None:
        theirs = await created(client, other_tenant, name="Theirs")
        response = await update(client, tenant, theirs["id"], name="Mine now")
        assert response.status_code == 404
        assert jira_issue(ops_site, theirs).summary == "Theirs"
        assert await tickets_of(runtime, tenant) == []

    @pytest.mark.parametrize("field", ["name", "status", "priority"])
    async def test_required_values_cannot_be_null(
        self, client: httpx.AsyncClient, tenant: Tenant, ticket: dict[str, Any], field: str
    ) -> None:
        response = await update(client, tenant, ticket["id"], **{field: None})
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", field]

    async def test_unknown_fields_are_ignored(
        self, client: httpx.AsyncClient, tenant: Tenant, ticket: dict[str, Any], ops_site: Site
    ) -> None:
        # project_vendor_id is a create field: an update does not know it, and ignores it.
        response = await update(client, tenant, ticket["id"], project_vendor_id="OPS")
        assert response.status_code == 200, response.text
        assert response.json()["project_vendor_id"] == "DEMO"
        assert jira_issue(ops_site, ticket).key.startswith("DEMO-")
