"""POST /v1/itsm/tickets: both id forms, resolution, emulator state after each create."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.fixtures.store import issue_type_uuid, project_uuid, stored, tickets_of, user_uuid
from tests.fixtures.tenants import Tenant
from tests.fixtures.tickets import (
    CREATE,
    CREATEMETA,
    GET,
    account_of,
    calls,
    create,
    created,
    jira_issue,
    marker_labels,
)
from tests.tickets.conftest import Statements, sync
from ticketbridge.connectors.jira.adf import markdown_to_adf
from ticketbridge.connectors.jira.markers import marker_label
from ticketbridge.connectors.registry import for_connection
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Connection
from ticketbridge.tickets.schemas import TicketCreate
from ticketbridge.tickets.service import resolve_create

DESCRIPTION = "Disk **full** on the primary.\n\n- db-1\n- db-2"
STORE_TABLES = ("projects", "users", "issue_types", "tickets")


class TestCreateByVendorIds:
    async def test_every_field_reaches_jira_and_the_store(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        dev = account_of(ops_site, "dev@example.com")
        ticket = await created(
            client,
            tenant,
            name="Disk full",
            description=DESCRIPTION,
            project_vendor_id="DEMO",
            type_vendor_id="10004",
            priority="CRITICAL",
            assigned_user_vendor_id=dev,
            tags=["infra", "urgent"],
            due_date="2030-01-31",
            identifier="ALERT-1",
            custom_fields={"customfield_10030": "REF-9", "customfield_10016": 5},
        )
        issue = jira_issue(ops_site, ticket)
        assert issue.summary == "Disk full"
        assert issue.description == markdown_to_adf(DESCRIPTION)
        assert ops_site.projects[issue.project_id].key == "DEMO"
        assert issue.issuetype.name == "Bug"
        assert issue.priority_id == "1"  # Highest
        assert issue.assignee == dev
        assert issue.labels[:2] == ["infra", "urgent"]
        assert len(marker_labels(issue)) == 1
        assert issue.duedate == "2030-01-31"
        assert issue.custom == {"customfield_10030": "REF-9", "customfield_10016": 5}
        assert issue.status.name == "To Do"

        assert ticket["name"] == "Disk full"
        assert ticket["description"] == DESCRIPTION
        # Jira's create answer is its id and key; the issue type is named by the catalog, and
        # this connection's was never synced: the next sync brings the name (below).
        assert ticket["type"] is None
        assert ticket["priority"] == "CRITICAL"
        assert ticket["status"] == "TODO"
        assert ticket["assigned_user_vendor_id"] == dev
        assert ticket["project_vendor_id"] == "DEMO"
        assert ticket["tags"] == ["infra", "urgent"]  # the marker label is hidden
        assert ticket["due_date"] == "2030-01-31"
        assert ticket["identifier"] == "ALERT-1"
        assert ticket["url"] == f"https://acme.atlassian.net/browse/{issue.key}"
        data = ticket["vendor_attributes"]["data"]
        assert data["customFields"] == {"customfield_10030": "REF-9", "customfield_10016": 5}
        assert data["key"] == issue.key
        [row] = await tickets_of(runtime, tenant)
        assert (str(row.id), row.vendor_id, row.identifier) == (
            ticket["id"],
            str(issue.id),
            "ALERT-1",
        )
        assert calls(ops_site, GET) == 0  # no read-back: one POST made the ticket

        # What only Jira decides arrives with the next sync, on the same stored row.
        await sync(runtime, tenant)
        synced = (
            await client.get(f"/v1/itsm/tickets/{ticket['id']}", headers=tenant.headers)
        ).json()
        assert synced["type"] == "Bug"
        assert synced["ticket_created_at"] is not None
        assert synced["created_by_user_id"] is not None
        assert synced["identifier"] == "ALERT-1"
        assert {k: synced[k] for k in ("name", "priority", "status", "tags", "due_date")} == {
            k: ticket[k] for k in ("name", "priority", "status", "tags", "due_date")
        }

    async def test_a_synced_catalog_makes_one_post_and_the_next_sync_completes_the_row(
        self, client: httpx.AsyncClient, synced: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        ops_site.stats.reset()
        ticket = await created(
            client,
            synced,
            name="Disk full",
            project_vendor_id="DEMO",
            type_vendor_id="10004",
            priority="HIGH",
            identifier="ALERT-9",
        )
        assert dict(ops_site.stats.routes) == {CREATE: 1}  # no read-back, no search
        # Known from the request and the catalog; what only Jira decides is not known yet.
        assert (ticket["type"], ticket["priority"], ticket["status"]) == ("Bug", "HIGH", "TODO")
        assert ticket["project_id"] == await project_uuid(runtime, synced, "DEMO")
        assert ticket["type_id"] == await issue_type_uuid(runtime, synced, "DEMO", "Bug")
        assert ticket["ticket_created_at"] is None and ticket["created_by_user_id"] is None

        await sync(runtime, synced)
        again = (
            await client.get(f"/v1/itsm/tickets/{ticket['id']}", headers=synced.headers)
        ).json()
        assert again["ticket_created_at"] is not None
        assert again["created_by_user_id"] is not None
        assert again["identifier"] == "ALERT-9"
        assert {k: again[k] for k in ("name", "priority", "status", "type", "tags")} == {
            k: ticket[k] for k in ("name", "priority", "status", "type", "tags")
        }

    async def test_vendor_ids_are_sent_without_any_store_lookup(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        statements: Statements,
    ) -> None:
        parent = ops_site.create_issue(
            {"fields": {"project": {"key": "DEMO"}, "issuetype": {"id": "10001"}, "summary": "p"}}
        )
        statements.sql.clear()
        ticket = await created(
            client,
            tenant,
            project_vendor_id="DEMO",
            type_vendor_id="10002",
            assigned_user_vendor_id=account_of(ops_site, "ops@example.com"),
            parent_ticket_vendor_id=parent.key,
        )
        assert "POST /rest/api/3/issue" in statements.marks
        assert statements.selects_on(STORE_TABLES, before="POST /rest/api/3/issue") == []
        assert statements.selects_on(STORE_TABLES)  # the upsert after Jira's answer does read
        assert jira_issue(ops_site, ticket).parent_id == parent.id
        assert ticket["parent_ticket_vendor_id"] == parent.key

    async def test_the_stored_row_answers_without_reading_tickets_after_jira(
        self, client: httpx.AsyncClient, synced: Tenant, statements: Statements
    ) -> None:
        # The identifier was checked before the call; the INSERT returns the row it answers.
        statements.sql.clear()
        ticket = await created(client, synced, identifier="ALERT-RET", priority="HIGH")
        after = statements.sql[statements.marks["POST /rest/api/3/issue"] :]
        assert [
            s for s in after if s.lstrip().upper().startswith("SELECT") and "tickets" in s
        ] == []
        again = await client.get(f"/v1/itsm/tickets/{ticket['id']}", headers=synced.headers)
        assert again.json() == ticket
        assert ticket["identifier"] == "ALERT-RET"

    async def test_project_by_numeric_id(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ops = ops_site.find_project("OPS")
        assert ops is not None
        ticket = await created(client, tenant, project_vendor_id=ops.id)
        assert jira_issue(ops_site, ticket).project_id == ops.id
        assert ticket["project_vendor_id"] == "OPS"

    async def test_type_name_is_looked_up_live_and_case_insensitively(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ticket = await created(
            client,
            tenant,
            project_vendor_id="OPS",
            type="sToRY",
        )
        assert jira_issue(ops_site, ticket).issuetype.name == "Story"
        assert calls(ops_site, CREATEMETA) == 1

    async def test_unknown_type_name_lists_the_valid_names(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        response = await create(client, tenant, type="Incident")
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "type"]
        assert "Bug, Epic, Story, Sub-task, Task" in error["msg"]
        assert calls(ops_site, CREATE) == 0

    async def test_sub_task_with_parent_by_key(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        parent = await created(client, tenant, name="Parent")
        child = await created(
            client,
            tenant,
            type="Sub-task",
            parent_ticket_vendor_id=parent["vendor_attributes"]["data"]["key"],
        )
        assert jira_issue(ops_site, child).parent_id == jira_issue(ops_site, parent).id
        assert child["parent_ticket_id"] == parent["id"]  # the parent is stored: linked
        assert child["type"] == "Sub-task"

    async def test_jira_validation_messages_come_back_as_422(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        response = await create(client, tenant, project_vendor_id="NOPE")
        assert response.status_code == 422
        # Jira's word on the project, on the caller's field.
        assert "project_vendor_id" in response.text
        assert "Specify a valid project ID or key" in response.text
        assert ops_site.issues_count() == 0

    async def test_sub_task_without_parent_is_refused_by_jira(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        response = await create(client, tenant, type_vendor_id="10002")
        assert response.status_code == 422
        errors = response.json()["errors"][0]["vendor_errors"]
        assert "parent" in errors["issuetype"]
        assert ops_site.issues_count() == 0

    async def test_unknown_assignee_vendor_id_is_refused_by_jira(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        response = await create(client, tenant, assigned_user_vendor_id="nobody")
        assert response.status_code == 422
        assert "assignee" in response.json()["errors"][0]["vendor_errors"]
        assert ops_site.issues_count() == 0


class TestCreateByUuids:
    async def test_every_uuid_form_is_resolved_from_the_store(
        self, client: httpx.AsyncClient, synced: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        dev = account_of(ops_site, "dev@example.com")
        project_id = await project_uuid(runtime, synced, "OPS")
        user_id = await user_uuid(runtime, synced, dev)
        createmeta_before = calls(ops_site, CREATEMETA)
        ticket = await created(
            client,
            synced,
            project_id=project_id,
            type="bug",
            assigned_user_id=user_id,
            priority="LOW",
        )
        issue = jira_issue(ops_site, ticket)
        assert ops_site.projects[issue.project_id].key == "OPS"
        assert issue.issuetype.name == "Bug"
        assert issue.assignee == dev
        assert issue.priority_id == "4"
        assert calls(ops_site, CREATEMETA) == createmeta_before  # the synced types were used
        assert ticket["project_id"] == project_id
        assert ticket["assigned_user_id"] == user_id
        assert ticket["type_id"] == await issue_type_uuid(runtime, synced, "OPS", "Bug")

    async def test_deprecated_type_id(
        self, client: httpx.AsyncClient, synced: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        type_id = await issue_type_uuid(runtime, synced, "DEMO", "Story")
        ticket = await created(
            client, synced, project_id=await project_uuid(runtime, synced, "DEMO"), type_id=type_id
        )
        assert jira_issue(ops_site, ticket).issuetype.name == "Story"
        assert ticket["type_id"] == type_id

    async def test_sub_task_with_parent_by_uuid(
        self, client: httpx.AsyncClient, synced: Tenant, ops_site: Site
    ) -> None:
        parent = await created(client, synced, name="Parent")
        child = await created(client, synced, type_vendor_id="10002", parent_ticket_id=parent["id"])
        assert jira_issue(ops_site, child).parent_id == jira_issue(ops_site, parent).id
        assert child["parent_ticket_id"] == parent["id"]
        assert child["parent_ticket_vendor_id"] == parent["vendor_attributes"]["data"]["key"]

    async def test_unknown_type_name_lists_the_synced_names(
        self, client: httpx.AsyncClient, synced: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        before = calls(ops_site, CREATEMETA)
        response = await create(
            client, synced, project_id=await project_uuid(runtime, synced, "DEMO"), type="Incident"
        )
        assert response.status_code == 422
        assert (
            "valid names: Bug, Epic, Story, Sub-task, Task" in response.json()["errors"][0]["msg"]
        )
        assert calls(ops_site, CREATEMETA) == before
        assert calls(ops_site, CREATE) == 0

    @pytest.mark.parametrize(
        "field", ["project_id", "type_id", "assigned_user_id", "parent_ticket_id"]
    )
    async def test_unknown_uuid_is_404_and_nothing_is_created(
        self, client: httpx.AsyncClient, synced: Tenant, ops_site: Site, field: str
    ) -> None:
        response = await create(client, synced, **{field: str(uuid.uuid4())})
        assert response.status_code == 404
        assert response.json()["detail"].startswith(f"{field}: ")
        assert calls(ops_site, CREATE) == 0
        assert ops_site.issues_count() == 0

    @pytest.mark.parametrize(
        "field", ["project_id", "type_id", "assigned_user_id", "parent_ticket_id"]
    )
    async def test_another_connections_uuid_is_404_and_never_used(
        self,
        client: httpx.AsyncClient,
        synced: Tenant,
        other_tenant: Tenant,
        ops_site: Site,
        runtime: Runtime,
        field: str,
    ) -> None:
        await sync(runtime, other_tenant)
        foreign = await _foreign_uuids(client, other_tenant, ops_site, runtime)
        issues_before = ops_site.issues_count()
        response = await create(client, synced, **{field: foreign[field]})
        assert response.status_code == 404
        assert field in response.json()["detail"]
        assert ops_site.issues_count() == issues_before
        assert await tickets_of(runtime, synced) == []


async def _foreign_uuids(
    client: httpx.AsyncClient, other: Tenant, ops_site: Site, runtime: Runtime
) -> dict[str, Any]:
    parent = await created(client, other, name="theirs")
    return {
        "project_id": await project_uuid(runtime, other, "DEMO"),
        "type_id": await issue_type_uuid(runtime, other, "DEMO", "Task"),
        "assigned_user_id": await user_uuid(
            runtime, other, account_of(ops_site, "dev@example.com")
        ),
        "parent_ticket_id": parent["id"],
    }


class TestResolveCreate:
    """The service function bulk creation calls once per item."""

    async def test_issue_type_names_are_read_once_per_connector(
        self, runtime: Runtime, tenant: Tenant, ops_site: Site
    ) -> None:
        [conn] = await stored(runtime, Connection, id=uuid.UUID(tenant.connection_id or ""))
        connector = for_connection(conn, runtime)
        items = [
            TicketCreate(name=f"item {i}", project_vendor_id="DEMO", type=name)
            for i, name in enumerate(("bug", "Task", "STORY"))
        ]
        async with runtime.session() as session:
            specs = [
                await resolve_create(session, connector, conn, item, identifier=f"B-{i}")
                for i, item in enumerate(items)
            ]
        assert [s.issue_type_id for s in specs] == ["10004", "10001", "10003"]
        assert [s.marker for s in specs] == [marker_label(str(conn.id), f"B-{i}") for i in range(3)]
        assert calls(ops_site, CREATEMETA) == 1
        assert ops_site.issues_count() == 0
