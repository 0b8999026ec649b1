"""Vendor ids from the passthrough lists are accepted as-is by POST /v1/itsm/tickets."""

from __future__ import annotations

import httpx

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import PROJECTS_URL, SEARCH_URL, users_url
from ticketbridge.fakejira import Site


class TestListThenCreate:
    async def test_ids_from_the_lists_create_the_issue_in_jira(
        self, client: httpx.AsyncClient, tenant: Tenant, fake_site: Site
    ) -> None:
        fake_site.add_project("OPS", "Operations")
        fake_site.add_user("kim.lee@example.com", "Kim Lee")
        h = tenant.headers
        projects = await client.get(
            PROJECTS_URL, params={"expand_issue_types": "true", "query": "oper"}, headers=h
        )
        assert projects.status_code == 200, projects.text
        (project,) = projects.json()["items"]
        bug = next(t for t in project["issue_types"] if t["name"] == "Bug")
        users = await client.get(
            users_url(project["vendor_id"]), params={"query": "kim"}, headers=h
        )
        assert users.status_code == 200, users.text
        (kim,) = users.json()["items"]

        created = await client.post(
            "/v1/itsm/tickets",
            json={
                "name": "Printer on fire",
                "project_vendor_id": project["vendor_id"],
                "type_vendor_id": bug["vendor_id"],
                "assigned_user_vendor_id": kim["vendor_id"],
            },
            headers=h,
        )
        assert created.status_code == 200, created.text
        key = created.json()["vendor_attributes"]["data"]["key"]

        issue = fake_site.get_issue(key)
        assert issue.project_id == project["id"]
        assert issue.issuetype_id == bug["vendor_id"]
        assert issue.assignee == kim["vendor_id"]
        assert issue.summary == "Printer on fire"

        # And the live search sees it with the same ids in its normalized view.
        found = await client.get(
            SEARCH_URL, params={"jql": f"key = {key}", "normalized": "true"}, headers=h
        )
        assert found.status_code == 200, found.text
        (item,) = found.json()["items"]
        assert item["normalized"]["project_vendor_id"] == project["vendor_id"]
        assert item["normalized"]["type_vendor_id"] == bug["vendor_id"]
        assert item["normalized"]["assigned_user_vendor_id"] == kim["vendor_id"]
