"""Request rules of the ticket writes: numeric vendor ids, unknown fields, length and
character limits, vendor id grammar.

Error bodies are asserted loosely (the field's name appears in the body's JSON) so that the
tests hold whatever structure the error body has, as long as it names the field.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.fixtures.store import tickets_of
from tests.fixtures.tenants import Tenant
from tests.fixtures.tickets import TICKETS, create, created, jira_issue, update
from ticketbridge.config import Settings
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Debug logging, to see what is logged about ignored fields."""
    return settings.model_copy(update={"log_level": "DEBUG"})


async def assert_refused(
    response: httpx.Response, field: str, ops_site: Site, runtime: Runtime, tenant: Tenant
) -> None:
    """A 422 naming ``field``; Jira was not called and no ticket row was written."""
    assert response.status_code == 422, response.text
    assert field in response.text
    assert ops_site.stats.total == 0
    assert await tickets_of(runtime, tenant) == []


class TestNumericVendorIds:
    async def test_numbers_are_accepted_as_vendor_ids(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        demo = ops_site.find_project("DEMO")
        assert demo is not None
        parent = await created(client, tenant, name="Parent")
        parent_id = jira_issue(ops_site, parent).id
        ticket = await created(
            client,
            tenant,
            name="Child",
            project_vendor_id=int(demo.id),
            type_vendor_id=10002,  # Sub-task
            parent_ticket_vendor_id=int(parent_id),
        )
        issue = jira_issue(ops_site, ticket)
        assert issue.issuetype_id == "10002" and issue.parent_id == parent_id
        assert ticket["project_vendor_id"] == "DEMO"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("type_vendor_id", True),
            ("type_vendor_id", 10004.0),
            ("type_vendor_id", 10004.5),
            ("type_vendor_id", -10004),
            ("project_vendor_id", False),
            ("project_vendor_id", -1),
            ("parent_ticket_vendor_id", 1.5),
            ("assigned_user_vendor_id", True),
        ],
    )
    async def test_booleans_fractions_and_negatives_are_refused(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        runtime: Runtime,
        field: str,
        value: Any,
    ) -> None:
        response = await create(client, tenant, **{field: value})
        await assert_refused(response, field, ops_site, runtime, tenant)

    async def test_numeric_assignee_on_update(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ticket = await created(client, tenant)
        response = await update(client, tenant, ticket["id"], assigned_user_vendor_id=False)
        assert response.status_code == 422 and "assigned_user_vendor_id" in response.text


class TestUnknownFields:
    async def test_create_ignores_them_and_logs_names_only(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        ticket = await created(
            client, tenant, name="Known", reporter_email="s3cr3t-value@example.com", severity=3
        )
        assert jira_issue(ops_site, ticket).summary == "Known"
        assert "reporter_email" in caplog.text and "severity" in caplog.text
        assert "s3cr3t-value" not in caplog.text

    async def test_update_ignores_them(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ticket = await created(client, tenant)
        response = await update(client, tenant, ticket["id"], name="Renamed", colour="red")
        assert response.status_code == 200, response.text
        assert jira_issue(ops_site, ticket).summary == "Renamed"

    async def test_bulk_sync_ignores_them_at_both_levels(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        body = {
            "tickets": [{"name": "Bulk", "project_vendor_id": "DEMO", "type": "Task", "x": 1}],
            "dry_run": False,
        }
        r = await client.post(f"{TICKETS}/bulk/sync", json=body, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json()["succeeded"] == 1
        assert ops_site.issues_count() == 1


class TestTypeForms:
    async def test_type_accepts_a_synced_issue_type_uuid(
        self, client: httpx.AsyncClient, synced: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        from tests.fixtures.store import issue_type_uuid, project_uuid

        bug = await issue_type_uuid(runtime, synced, "OPS", "Bug")
        ticket = await created(
            client, synced, project_id=await project_uuid(runtime, synced, "OPS"), type=bug
        )
        assert jira_issue(ops_site, ticket).issuetype_id == "10004"
        assert ticket["type"] == "Bug"
        by_vendor_project = await created(client, synced, project_vendor_id="OPS", type=bug)
        assert jira_issue(ops_site, by_vendor_project).issuetype_id == "10004"

    async def test_unknown_type_uuid_is_a_404_naming_type(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        response = await create(client, tenant, type="0190d6a4-5b1c-7cc0-8000-000000000000")
        assert response.status_code == 404 and "type" in response.text
        assert ops_site.issues_count() == 0

    @pytest.mark.parametrize("form", [{"type": "Bug"}, {"type_vendor_id": "10004"}])
    async def test_unknown_project_vendor_id_is_one_422_naming_it(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        runtime: Runtime,
        form: dict[str, str],
    ) -> None:
        response = await create(client, tenant, project_vendor_id="NOPE", **form)
        assert response.status_code == 422, response.text
        assert "project_vendor_id" in response.text
        assert ops_site.issues_count() == 0
        assert await tickets_of(runtime, tenant) == []


def _big(n: int) -> str:
    return "x" * n


class TestLimits:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", _big(256)),
            ("name", "Disk\x00full"),
            ("name", "Disk \u202efull"),
            ("name", "Disk\nfull"),
            ("description", _big(32_768)),
            ("description", "bell\x07"),
            ("identifier", _big(256)),
            ("identifier", "EXT\x1b[31m-1"),
            ("identifier", "EXT-\u2066-1"),
            ("tags", [f"t{i}" for i in range(51)]),
            ("tags", [_big(256)]),
            ("tags", ["ok", "bad\u2069"]),
            ("tags", ["bad\ttab"]),
            ("custom_fields", {"customfield_10030": _big(64 * 1024)}),
            ("project_vendor_id", "../../../rest/api/3/myself"),
            ("project_vendor_id", "DEMO?x=1"),
            ("type_vendor_id", "10004/../1"),
            ("type_vendor_id", "Bug"),
            ("parent_ticket_vendor_id", "DEMO-1/comment"),
            ("assigned_user_vendor_id", "a b"),
            ("assigned_user_vendor_id", _big(129)),
        ],
    )
    async def test_refused_with_422_naming_the_field_nothing_sent(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        runtime: Runtime,
        field: str,
        value: Any,
    ) -> None:
        response = await create(client, tenant, **{field: value})
        await assert_refused(response, field, ops_site, runtime, tenant)

    async def test_values_at_the_limits_are_accepted(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ticket = await created(
            client,
            tenant,
            name=_big(255),
            description="tabs\tand\r\nline breaks\n" + _big(32_700),
            identifier="EXT-" + _big(251),
            tags=[f"t{i}" for i in range(50)],
            custom_fields={"customfield_10030": _big(60 * 1024)},
        )
        issue = jira_issue(ops_site, ticket)
        assert issue.summary == _big(255) and len(issue.labels) >= 50

    @pytest.mark.parametrize(
        ("field", "value"),
        [("name", "x\x00"), ("tags", ["a\u202eb"]), ("description", _big(32_768))],
    )
    async def test_update_has_the_same_limits(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        ops_site: Site,
        field: str,
        value: Any,
    ) -> None:
        ticket = await created(client, tenant, name="Before")
        calls_before = ops_site.stats.total
        response = await update(client, tenant, ticket["id"], **{field: value})
        assert response.status_code == 422 and field in response.text
        assert ops_site.stats.total == calls_before
        assert jira_issue(ops_site, ticket).summary == "Before"
