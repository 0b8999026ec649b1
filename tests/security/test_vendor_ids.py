"""Ids that go into a Jira URL path are checked against Jira's grammar first: a value such as
``../../../rest/api/3/myself`` is a 422 naming the field and nothing reaches the vendor.

The Jira client holds this on its own (the request schemas may check too), so the client is
also driven directly with ids that no schema would let through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import httpx
import pytest

from tests.fixtures.tenants import Tenant, jira_credentials
from ticketbridge.connectors.jira.client import JiraClient
from ticketbridge.connectors.jira.connector import JiraConnector
from ticketbridge.errors import Unprocessable
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime

TRAVERSAL = "../../../rest/api/3/myself"
BAD_IDS = [TRAVERSAL, "DEMO-1/../../myself", "..%2f..%2fmyself", "DEMO?x=1", "DEMO#", "", "10001 "]


class TestTicketRoute:
    async def test_a_traversing_project_vendor_id_is_a_422_and_nothing_is_sent(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        before = fake_site.stats.total
        r = await client.post(
            "/v1/itsm/tickets",
            json={"name": "x", "project_vendor_id": TRAVERSAL, "type": "Task"},
            headers=tenant.headers,
        )

        assert r.status_code == 422, r.text
        assert "project_vendor_id" in r.json()["errors"][0]["loc"]
        assert fake_site.stats.total == before


def jira_client(runtime: Runtime, tenant: Tenant) -> JiraClient:
    assert tenant.connection_id is not None
    connector = runtime.connectors.build("JIRA", tenant.connection_id, jira_credentials(), {})
    return cast(JiraConnector, connector).client


CALLS: dict[str, tuple[str, Callable[[JiraClient, str], Awaitable[Any]]]] = {
    "get_project": ("project_vendor_id", lambda c, v: c.get_project(v)),
    "project_issue_types": ("project_vendor_id", lambda c, v: c.project_issue_types(v)),
    "get_issue": ("vendor_id", lambda c, v: c.get_issue(v)),
    "edit_issue": ("vendor_id", lambda c, v: c.edit_issue(v, {"fields": {}})),
    "delete_issue": ("vendor_id", lambda c, v: c.delete_issue(v)),
    "get_transitions": ("vendor_id", lambda c, v: c.get_transitions(v)),
    "transition_issue": ("vendor_id", lambda c, v: c.transition_issue(v, "11")),
    "bulk_progress": ("task_id", lambda c, v: c.bulk_progress(v)),
}


class TestJiraClient:
    @pytest.mark.parametrize("call", sorted(CALLS))
    async def test_bad_ids_never_reach_a_url(
        self, runtime: Runtime, tenant: Tenant, fake_site: Site, call: str
    ) -> None:
        field, invoke = CALLS[call]
        for bad in BAD_IDS:
            with pytest.raises(Unprocessable) as raised:
                await invoke(jira_client(runtime, tenant), bad)
            assert raised.value.field == field, bad

        assert fake_site.stats.total == 0

    async def test_good_ids_still_work(
        self, runtime: Runtime, tenant: Tenant, fake_site: Site
    ) -> None:
        client = jira_client(runtime, tenant)
        created = await client.create_issue(
            {"fields": {"project": {"key": "DEMO"}, "issuetype": {"id": "10001"}, "summary": "s"}}
        )
        assert (await client.get_issue(created["key"]))["id"] == created["id"]
        assert (await client.get_issue(created["id"]))["key"] == created["key"]
        assert (await client.get_project("DEMO"))["key"] == "DEMO"
