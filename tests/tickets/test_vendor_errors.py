"""Jira failures injected through the emulator's faults: status codes, details, and never a
duplicate issue."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.service import RecordingSleep
from tests.fixtures.tenants import Tenant
from tests.fixtures.tickets import CREATE, EDIT, SEARCH, calls, create, created, jira_issue, update
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.fakejira import DEFAULT_ADMIN_EMAIL, Site


def only_create(**fault: Any) -> dict[str, Any]:
    return {**fault, "routes": [CREATE]}


class TestCreateFailures:
    async def test_jira_validation_error_is_422_with_jiras_field_messages(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        response = await create(client, tenant, custom_fields={"customfield_10016": "many"})
        assert response.status_code == 422
        body = response.json()
        assert body["errors"][0]["vendor_errors"] == {
            "customfield_10016": "Operation value must be a number"
        }
        assert body["detail"].startswith("Jira rejected the request: customfield_10016: ")
        assert ops_site.issues_count() == 0

    async def test_refused_credentials_are_502_with_a_clear_detail(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ops_site.set_api_token(DEFAULT_ADMIN_EMAIL, "rotated-token")
        response = await create(client, tenant)
        assert response.status_code == 502
        assert "credentials" in response.json()["detail"]
        assert "API token" in response.json()["detail"]
        assert ops_site.issues_count() == 0

    async def test_429_then_success_waits_retry_after_and_creates_once(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, retry_sleep: RecordingSleep
    ) -> None:
        # seed 1: the first draw is under 0.5 (throttled), the second is not.
        ops_site.faults.configure({"seed": 1, "rate_limit": only_create(share=0.5, retry_after=1)})
        ticket = await created(client, tenant)
        assert ops_site.faults.injected["rate_limited"] == 1
        assert retry_sleep.waits == [1.0]
        assert calls(ops_site, CREATE) == 2
        assert ops_site.issues_count() == 1
        assert jira_issue(ops_site, ticket).summary == "Disk full on db-1"

    async def test_jira_down_is_503_after_one_safe_retry_and_creates_nothing(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ops_site.faults.configure({"error_rate": only_create(share=1.0, status=503)})
        response = await create(client, tenant)
        assert response.status_code == 503
        assert response.json()["detail"] == "Jira is unavailable (HTTP 503)"
        # Not applied (pre-apply 503): the marker search finds nothing, one retry is safe.
        assert calls(ops_site, SEARCH) == 2
        assert calls(ops_site, CREATE) == 2
        assert ops_site.issues_count() == 0

    async def test_a_5xx_that_was_not_applied_is_retried_once(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        # seed 1: the first POST fails before it is applied, the second passes.
        ops_site.faults.configure({"seed": 1, "error_rate": only_create(share=0.5, status=502)})
        ticket = await created(client, tenant)
        assert calls(ops_site, CREATE) == 2
        assert calls(ops_site, SEARCH) == 1
        assert ops_site.issues_count() == 1
        assert jira_issue(ops_site, ticket).summary == "Disk full on db-1"

    async def test_an_applied_create_answered_with_a_5xx_is_found_by_its_marker(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ops_site.faults.configure(
            {"ambiguous": only_create(share=1.0, mode="5xx", status=504, count=1)}
        )
        ticket = await created(client, tenant, identifier="ALERT-77", tags=["x"])
        assert ops_site.faults.injected["ambiguous_5xx"] == 1
        assert calls(ops_site, CREATE) == 1
        assert calls(ops_site, SEARCH) == 1  # the reconciliation (the store vouches for ALERT-77)
        assert ops_site.issues_count() == 1
        assert ticket["identifier"] == "ALERT-77"
        assert ticket["tags"] == ["x"]
        assert jira_issue(ops_site, ticket).labels[0] == "x"

    async def test_an_applied_create_whose_connection_dropped_is_found_too(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ops_site.faults.configure({"ambiguous": only_create(share=1.0, mode="drop", count=1)})
        ticket = await created(client, tenant)
        assert ops_site.faults.injected["ambiguous_drop"] == 1
        assert calls(ops_site, CREATE) == 1
        assert ops_site.issues_count() == 1
        assert ticket["vendor_attributes"]["data"]["key"] == "DEMO-1"

    async def test_a_retry_with_the_same_identifier_after_an_ambiguous_failure_is_409(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ops_site.faults.configure(
            {"ambiguous": only_create(share=1.0, mode="5xx", status=504, count=1)}
        )
        assert (await create(client, tenant, identifier="ALERT-9")).status_code == 200
        retry = await create(client, tenant, identifier="ALERT-9")
        assert retry.status_code == 409
        assert "ALERT-9" in retry.json()["detail"]
        assert calls(ops_site, CREATE) == 1
        assert ops_site.issues_count() == 1


class TestUpdateFailures:
    async def test_jira_down_during_an_update_is_503_after_retries(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, retry_sleep: RecordingSleep
    ) -> None:
        ticket = await created(client, tenant)
        ops_site.faults.configure({"error_rate": {"share": 1.0, "status": 503}})
        response = await update(client, tenant, ticket["id"], name="Renamed")
        assert response.status_code == 503
        attempts = RetryPolicy().max_attempts
        assert calls(ops_site, EDIT) == attempts  # PUT is idempotent: retried with backoff
        assert len(retry_sleep.waits) == attempts - 1
        assert jira_issue(ops_site, ticket).summary == "Disk full on db-1"

    async def test_refused_credentials_are_502(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ticket = await created(client, tenant)
        ops_site.set_api_token(DEFAULT_ADMIN_EMAIL, None)
        response = await update(client, tenant, ticket["id"], priority="LOW")
        assert response.status_code == 502
        assert "credentials" in response.json()["detail"]

    async def test_jira_validation_error_on_update_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ticket = await created(client, tenant)
        response = await update(
            client, tenant, ticket["id"], custom_fields={"customfield_10016": "many"}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["vendor_errors"] == {
            "customfield_10016": "Operation value must be a number"
        }
        assert jira_issue(ops_site, ticket).custom == {}

    async def test_an_issue_deleted_in_jira_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ticket = await created(client, tenant)
        ops_site.delete_issue(jira_issue(ops_site, ticket))
        response = await update(client, tenant, ticket["id"], name="Renamed")
        assert response.status_code == 404
        assert "Issue does not exist" in response.json()["detail"]
