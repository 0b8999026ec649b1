"""Every v3 route's success and error responses validate against Atlassian's OpenAPI schemas.

``ContractClient.call`` validates each response (and each JSON request body the tests send)
against ``jira-openapi-slice.json``; a test passes only if the status is the expected one and
the body matches the documented schema for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import ValidationError

from ticketbridge.fakejira import FaultConfig, RateLimitFault, Site

from .conftest import ContractClient
from .openapi import document, validate_request, validate_response

BAD_AUTH = ("admin@example.com", "wrong-token")
ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Contract ✓"}]}],
}


def new_issue(summary: str = "Contract test", **fields: Any) -> dict[str, Any]:
    return {
        "fields": {
            "project": {"key": "ACME"},
            "issuetype": {"id": "10004"},
            "summary": summary,
            "description": ADF,
            "labels": ["contract"],
            "priority": {"id": "2"},
            "duedate": "2024-07-01",
            **fields,
        }
    }


class TestHelper:
    def test_rejects_a_wrong_shape(self) -> None:
        with pytest.raises(ValidationError):
            validate_response("/rest/api/3/issue", "POST", 201, {"id": 1, "key": "A-1"})
        with pytest.raises(ValidationError):
            validate_response("/rest/api/3/myself", "GET", 401, {"errorMessages": "no"})

    def test_known_document_quirks(self) -> None:
        # The assignable-users schema is an array (its example is an object); serverInfo's
        # schema has deploymentType (its example does not).
        assert validate_response("/rest/api/3/user/assignable/search", "GET", 200, []) == (
            "array of User"
        )
        validate_response("/rest/api/3/serverInfo", "GET", 200, {"deploymentType": "Cloud"})

    def test_undocumented_success_status_fails(self) -> None:
        with pytest.raises(AssertionError):
            validate_response("/rest/api/3/issue", "POST", 200, {})

    def test_request_validation(self) -> None:
        assert validate_request("/rest/api/3/issue", "POST", new_issue()) == "IssueUpdateDetails"
        with pytest.raises(ValidationError):
            validate_request("/rest/api/3/search/jql", "POST", {"jql": "x", "startAt": 0})


class TestMetadataRoutes:
    async def test_server_info(self, api: ContractClient) -> None:
        info = await api.call("GET", "/rest/api/3/serverInfo", expect=200)
        assert info["deploymentType"] == "Cloud"
        await api.call("GET", "/rest/api/3/serverInfo", expect=401, auth=BAD_AUTH)

    @pytest.mark.parametrize(
        "route",
        [
            "/rest/api/3/myself",
            "/rest/api/3/field",
            "/rest/api/3/priority",
            "/rest/api/3/issuetype",
            "/rest/api/3/project",
        ],
    )
    async def test_simple_reads(self, api: ContractClient, route: str) -> None:
        body = await api.call(
            "GET", route, params={"expand": "issueTypes,lead,description"}, expect=200
        )
        assert body
        await api.call("GET", route, expect=401, auth=BAD_AUTH)

    async def test_project_search(self, api: ContractClient, site: Site) -> None:
        for n in range(4):
            site.add_project(f"C{n}", f"Contract {n}")
        page = await api.call(
            "GET",
            "/rest/api/3/project/search",
            params={"maxResults": 2, "expand": "issueTypes,lead"},
            expect=200,
        )
        assert page["nextPage"].startswith("https://acme.atlassian.net/")
        await api.call("GET", "/rest/api/3/project/search", params={"maxResults": "x"}, expect=400)
        await api.call("GET", "/rest/api/3/project/search", expect=401, auth=BAD_AUTH)

    async def test_project(self, api: ContractClient) -> None:
        path = {"projectIdOrKey": "ACME"}
        project = await api.call(
            "GET", "/rest/api/3/project/{projectIdOrKey}", path=path, expect=200
        )
        assert project["key"] == "ACME"
        await api.call(
            "GET",
            "/rest/api/3/project/{projectIdOrKey}",
            path={"projectIdOrKey": "NOPE"},
            expect=404,
        )

    async def test_createmeta_issue_types(self, api: ContractClient) -> None:
        route = "/rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes"
        body = await api.call("GET", route, path={"projectIdOrKey": "ACME"}, expect=200)
        assert body["total"] == 5
        await api.call("GET", route, path={"projectIdOrKey": "NOPE"}, expect=404)
        await api.call("GET", route, path={"projectIdOrKey": "ACME"}, expect=401, auth=BAD_AUTH)

    async def test_assignable_users(self, api: ContractClient, site: Site) -> None:
        route = "/rest/api/3/user/assignable/search"
        users = await api.call("GET", route, params={"project": "ACME"}, expect=200)
        assert isinstance(users, list) and users
        await api.call("GET", route, expect=400)
        await api.call("GET", route, params={"project": "NOPE"}, expect=404)
        await api.call("GET", route, params={"project": "ACME"}, expect=401, auth=BAD_AUTH)
        site.faults.configure(FaultConfig(rate_limit=RateLimitFault(share=1.0)))
        await api.call("GET", route, params={"project": "ACME"}, expect=429)


class TestIssueRoutes:
    async def test_create(self, api: ContractClient) -> None:
        created = await api.call("POST", "/rest/api/3/issue", json=new_issue(), expect=201)
        assert created["key"].startswith("ACME-")
        await api.call("POST", "/rest/api/3/issue", json=new_issue(""), expect=400)
        await api.call("POST", "/rest/api/3/issue", json=new_issue(), expect=401, auth=BAD_AUTH)

    async def test_bulk_create(self, api: ContractClient) -> None:
        route = "/rest/api/3/issue/bulk"
        partial = await api.call(
            "POST", route, expect=201, json={"issueUpdates": [new_issue("a"), new_issue("")]}
        )
        assert len(partial["issues"]) == 1 and len(partial["errors"]) == 1
        await api.call("POST", route, expect=400, json={"issueUpdates": [new_issue("")]})
        await api.call(
            "POST", route, expect=400, json={"issueUpdates": [new_issue(str(n)) for n in range(51)]}
        )
        await api.call(
            "POST", route, expect=401, auth=BAD_AUTH, json={"issueUpdates": [new_issue()]}
        )

    async def test_get_with_every_field(self, api: ContractClient) -> None:
        story = await api.call(
            "POST",
            "/rest/api/3/issue",
            expect=201,
            json=new_issue("story", issuetype={"id": "10003"}),
        )
        await api.call(
            "POST",
            "/rest/api/3/issue",
            expect=201,
            json=new_issue(
                "sub", issuetype={"id": "10002"}, parent={"key": story["key"]}, customfield_10016=3
            ),
        )
        route = "/rest/api/3/issue/{issueIdOrKey}"
        issue = await api.call(
            "GET",
            route,
            path={"issueIdOrKey": story["key"]},
            params={"expand": "names,transitions"},
            expect=200,
        )
        assert issue["fields"]["subtasks"] and issue["transitions"]
        await api.call("GET", route, path={"issueIdOrKey": "ACME-9999"}, expect=404)
        await api.call("GET", route, path={"issueIdOrKey": story["key"]}, expect=401, auth=BAD_AUTH)

    async def test_edit(self, api: ContractClient) -> None:
        route = "/rest/api/3/issue/{issueIdOrKey}"
        path = {"issueIdOrKey": "ACME-1"}
        await api.call(
            "PUT",
            route,
            path=path,
            expect=204,
            json={"fields": {"summary": "edited"}, "update": {"labels": [{"add": "x"}]}},
        )
        returned = await api.call(
            "PUT",
            route,
            path=path,
            params={"returnIssue": "true"},
            json={"fields": {"priority": {"id": "1"}}},
            expect=200,
        )
        validate_response(route, "GET", 200, returned)  # and it is a full IssueBean
        await api.call("PUT", route, path=path, json={"fields": {"labels": ["a b"]}}, expect=400)
        await api.call(
            "PUT", route, path={"issueIdOrKey": "ACME-9999"}, json={"fields": {}}, expect=404
        )

    async def test_delete(self, api: ContractClient) -> None:
        route = "/rest/api/3/issue/{issueIdOrKey}"
        parent = await api.call("POST", "/rest/api/3/issue", json=new_issue(), expect=201)
        await api.call(
            "POST",
            "/rest/api/3/issue",
            expect=201,
            json=new_issue("sub", issuetype={"id": "10002"}, parent={"key": parent["key"]}),
        )
        await api.call("DELETE", route, path={"issueIdOrKey": parent["key"]}, expect=400)
        await api.call(
            "DELETE",
            route,
            path={"issueIdOrKey": parent["key"]},
            params={"deleteSubtasks": "true"},
            expect=204,
        )
        await api.call("DELETE", route, path={"issueIdOrKey": parent["key"]}, expect=404)

    async def test_transitions(self, api: ContractClient) -> None:
        route = "/rest/api/3/issue/{issueIdOrKey}/transitions"
        created = await api.call("POST", "/rest/api/3/issue", json=new_issue(), expect=201)
        path = {"issueIdOrKey": created["key"]}
        listed = await api.call("GET", route, path=path, expect=200)
        assert [t["id"] for t in listed["transitions"]] == ["21", "31"]
        await api.call("POST", route, path=path, json={"transition": {"id": "31"}}, expect=204)
        await api.call("POST", route, path=path, json={"transition": {"id": "31"}}, expect=400)
        await api.call("GET", route, path={"issueIdOrKey": "NOPE-1"}, expect=404)
        await api.call(
            "POST",
            route,
            path={"issueIdOrKey": "NOPE-1"},
            json={"transition": {"id": "21"}},
            expect=404,
        )

    async def test_classic_workflow_and_transition_screen(
        self, api: ContractClient, site: Site
    ) -> None:
        site.add_project("CLS", "Classic", workflow="classic")
        site.set_screen("CLS", "5", ["resolution"])
        route = "/rest/api/3/issue/{issueIdOrKey}/transitions"
        created = await api.call(
            "POST", "/rest/api/3/issue", json=new_issue(project={"key": "CLS"}), expect=201
        )
        path = {"issueIdOrKey": created["key"]}
        listed = await api.call(
            "GET", route, path=path, params={"expand": "transitions.fields"}, expect=200
        )
        assert [(t["id"], t["to"]["name"]) for t in listed["transitions"]] == [("4", "In Progress")]
        await api.call("POST", route, path=path, json={"transition": {"id": "4"}}, expect=204)
        listed = await api.call(
            "GET", route, path=path, params={"expand": "transitions.fields"}, expect=200
        )
        with_issue = await api.call(
            "GET",
            "/rest/api/3/issue/{issueIdOrKey}",
            path=path,
            params={"expand": "transitions.fields", "fields": "status"},
            expect=200,
        )
        assert with_issue["transitions"] == listed["transitions"]
        resolve = next(t for t in listed["transitions"] if t["id"] == "5")
        assert resolve["hasScreen"] is True
        assert resolve["fields"]["resolution"]["required"] is True
        refused = await api.call(
            "POST", route, path=path, json={"transition": {"id": "5"}}, expect=400
        )
        assert refused["errors"] == {"resolution": "Resolution is required."}
        await api.call(
            "POST",
            route,
            path=path,
            json={"transition": {"id": "5"}, "fields": {"resolution": {"name": "Done"}}},
            expect=204,
        )
        issue = await api.call(
            "GET",
            "/rest/api/3/issue/{issueIdOrKey}",
            path=path,
            params={"expand": "transitions"},
            expect=200,
        )
        assert issue["fields"]["status"]["name"] == "Resolved"
        assert {t["to"]["name"] for t in issue["transitions"]} == {"Closed", "Reopened"}

    @pytest.mark.parametrize(
        ("workflow", "names"),
        [
            ("default", ["To Do", "In Progress", "Done"]),
            ("classic", ["Open", "In Progress", "Resolved", "Closed", "Reopened"]),
        ],
    )
    async def test_project_statuses(
        self, api: ContractClient, site: Site, workflow: str, names: list[str]
    ) -> None:
        site.add_project("WF", "Workflow", workflow=workflow)
        route = "/rest/api/3/project/{projectIdOrKey}/statuses"
        body = await api.call("GET", route, path={"projectIdOrKey": "WF"}, expect=200)
        assert {t["name"] for t in body} >= {"Task", "Bug"}
        assert [s["name"] for s in body[0]["statuses"]] == names
        await api.call("GET", route, path={"projectIdOrKey": "NOPE"}, expect=404)


class TestSearchRoutes:
    @pytest.mark.parametrize("method", ["GET", "POST"])
    async def test_removed_search(self, api: ContractClient, method: str) -> None:
        await api.call(
            method,
            "/rest/api/3/search",
            expect=410,
            check_request=False,
            json={"jql": "project = ACME"} if method == "POST" else None,
        )

    async def test_search_get(self, api: ContractClient) -> None:
        route = "/rest/api/3/search/jql"
        ids = await api.call(
            "GET", route, params={"jql": "project = ACME", "maxResults": 10}, expect=200
        )
        assert ids["nextPageToken"] and ids["isLast"] is False
        full = await api.call(
            "GET",
            route,
            expect=200,
            params={
                "jql": "project = ACME",
                "fields": "*all",
                "expand": "names",
                "maxResults": 50,
                "nextPageToken": ids["nextPageToken"],
            },
        )
        assert full["isLast"] is True and "nextPageToken" not in full
        await api.call("GET", route, params={"jql": "project = = ACME"}, expect=400)
        await api.call(
            "GET", route, params={"jql": "project = ACME", "nextPageToken": "no"}, expect=400
        )
        await api.call("GET", route, params={"jql": "project = ACME"}, expect=401, auth=BAD_AUTH)

    async def test_search_post(self, api: ContractClient) -> None:
        route = "/rest/api/3/search/jql"
        body = await api.call(
            "POST",
            route,
            expect=200,
            json={
                "jql": "project = ACME",
                "fields": ["summary", "status", "assignee"],
                "maxResults": 5,
                "reconcileIssues": [10000],
            },
        )
        assert len(body["issues"]) == 5
        await api.call("POST", route, json={"jql": ""}, expect=400)
        await api.call(
            "POST", route, json={"jql": "x", "startAt": 1}, expect=400, check_request=False
        )

    async def test_approximate_count(self, api: ContractClient) -> None:
        route = "/rest/api/3/search/approximate-count"
        assert await api.call("POST", route, json={"jql": "project = ACME"}, expect=200) == {
            "count": 30
        }
        await api.call("POST", route, json={"jql": "project ="}, expect=400)
        await api.call("POST", route, json={"jql": "project = ACME"}, expect=401, auth=BAD_AUTH)


class TestBulkRoutes:
    async def test_available_transitions(self, api: ContractClient) -> None:
        route = "/rest/api/3/bulk/issues/transition"
        body = await api.call("GET", route, params={"issueIdsOrKeys": "ACME-1,ACME-2"}, expect=200)
        assert body["availableTransitions"]
        await api.call("GET", route, expect=400)
        await api.call("GET", route, params={"issueIdsOrKeys": "ACME-1"}, expect=401, auth=BAD_AUTH)

    async def test_bulk_transition_and_progress(self, api: ContractClient, site: Site) -> None:
        route = "/rest/api/3/bulk/issues/transition"
        payload = {
            "bulkTransitionInputs": [
                {"selectedIssueIdsOrKeys": ["ACME-1", "ACME-2", "ACME-404"], "transitionId": "21"}
            ],
            "sendBulkNotification": False,
        }
        site.faults.configure(FaultConfig(bulk_delay_ms=60_000))
        task = await api.call("POST", route, json=payload, expect=201)
        queue = "/rest/api/3/bulk/queue/{taskId}"
        pending = await api.call("GET", queue, path=task, expect=200)
        assert pending["status"] == "ENQUEUED"
        site.faults.configure(FaultConfig())
        site.tasks.tasks[task["taskId"]].due = 0
        done = await api.call("GET", queue, path=task, expect=200)
        assert done["status"] == "COMPLETE" and done["invalidOrInaccessibleIssueCount"] == 1
        await api.call("GET", queue, path={"taskId": "999"}, expect=404)
        await api.call("GET", queue, path=task, expect=401, auth=BAD_AUTH)
        await api.call(
            "POST", route, json={"bulkTransitionInputs": "no"}, expect=400, check_request=False
        )
        await api.call("POST", route, json=payload, expect=401, auth=BAD_AUTH)

    async def test_bulk_edit(self, api: ContractClient) -> None:
        route = "/rest/api/3/bulk/issues/fields"
        payload = {
            "selectedIssueIdsOrKeys": ["ACME-1", "ACME-2"],
            "selectedActions": ["summary", "labels", "priority"],
            "editedFieldsInput": {
                "singleLineTextFields": [{"fieldId": "summary", "text": "bulk"}],
                "labelsFields": [
                    {
                        "fieldId": "labels",
                        "bulkEditMultiSelectFieldOption": "ADD",
                        "labels": [{"name": "bulk"}],
                    }
                ],
                "priority": {"priorityId": "5"},
            },
            "sendBulkNotification": False,
        }
        task = await api.call("POST", route, json=payload, expect=201)
        progress = await api.call("GET", "/rest/api/3/bulk/queue/{taskId}", path=task, expect=200)
        assert len(progress["processedAccessibleIssues"]) == 2
        await api.call(
            "POST",
            route,
            expect=400,
            json={
                "selectedIssueIdsOrKeys": ["ACME-1"],
                "selectedActions": ["summary"],
                "editedFieldsInput": {},
            },
        )
        await api.call("POST", route, json=payload, expect=401, auth=BAD_AUTH)


class TestCoverage:
    def test_every_sliced_operation_is_exercised_above(self) -> None:
        # Keeps the slice and this module in step: each sliced path is called in a test above.
        source = Path(__file__).read_text(encoding="utf-8")
        missing = [path for path in document()["paths"] if f'"{path}"' not in source]
        assert missing == []
