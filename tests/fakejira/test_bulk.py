"""Bulk create (``issue/bulk``) and bulk tasks (``bulk/issues/*`` + ``bulk/queue``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ticketbridge.fakejira import FaultConfig, Site

from .conftest import Clock, create


def item(summary: str = "bulk", **fields: Any) -> dict[str, Any]:
    return {
        "fields": {
            "project": {"key": "DEMO"},
            "issuetype": {"id": "10001"},
            "summary": summary,
            **fields,
        }
    }


class TestBulkCreate:
    async def test_partial_success_is_201_with_per_item_errors(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        updates = [item("one"), item(""), item("three"), item("four", labels=["x y"])]
        response = await client.post("/rest/api/3/issue/bulk", json={"issueUpdates": updates})
        assert response.status_code == 201
        data = response.json()
        assert [i["key"] for i in data["issues"]] == ["DEMO-1", "DEMO-2"]
        assert [(e["failedElementNumber"], e["status"]) for e in data["errors"]] == [
            (1, 400),
            (3, 400),
        ]
        assert data["errors"][0]["elementErrors"] == {
            "errorMessages": [],
            "errors": {"summary": "You must specify a summary of the issue."},
        }
        assert site.get_issue("DEMO-2").summary == "three"

    async def test_all_failed_is_400(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await client.post(
            "/rest/api/3/issue/bulk", json={"issueUpdates": [item(""), item("x", duedate="no")]}
        )
        assert response.status_code == 400
        data = response.json()
        assert data["issues"] == [] and len(data["errors"]) == 2
        assert site.issues_count() == 0

    async def test_more_than_50_is_rejected(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await client.post(
            "/rest/api/3/issue/bulk", json={"issueUpdates": [item() for _ in range(51)]}
        )
        assert response.status_code == 400
        assert "50" in response.json()["errors"][0]["elementErrors"]["errorMessages"][0]
        assert site.issues_count() == 0

    async def test_exactly_50_is_fine(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await client.post(
            "/rest/api/3/issue/bulk", json={"issueUpdates": [item(str(n)) for n in range(50)]}
        )
        assert response.status_code == 201
        assert len(response.json()["issues"]) == site.issues_count() == 50


async def poll(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/rest/api/3/bulk/queue/{task_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


class TestBulkTransition:
    async def test_transition_with_per_issue_failures(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        for n in range(3):
            await create(client, f"issue {n}")
        await client.post("/rest/api/3/issue/DEMO-3/transitions", json={"transition": {"id": "31"}})
        response = await client.post(
            "/rest/api/3/bulk/issues/transition",
            json={
                "bulkTransitionInputs": [
                    {"selectedIssueIdsOrKeys": ["DEMO-1", "DEMO-3", "NOPE-9"], "transitionId": "31"}
                ],
                "sendBulkNotification": False,
            },
        )
        assert response.status_code == 201
        task = await poll(client, response.json()["taskId"])
        assert task["status"] == "COMPLETE" and task["progressPercent"] == 100
        done = site.get_issue("DEMO-1")
        assert task["processedAccessibleIssues"] == [done.id]
        failed_id = str(site.get_issue("DEMO-3").id)
        assert list(task["failedAccessibleIssues"]) == [failed_id]
        assert task["invalidOrInaccessibleIssueCount"] == 1
        assert task["totalIssueCount"] == 3
        assert task["submittedBy"]["emailAddress"] == "admin@example.com"
        assert done.status_id == "10001" and done.resolution_id == "10000"

    async def test_delayed_task_reports_progress_then_applies(
        self, client: httpx.AsyncClient, site: Site, clock: Clock
    ) -> None:
        site.faults.configure(FaultConfig(bulk_delay_ms=10_000))
        await create(client)
        task_id = (
            await client.post(
                "/rest/api/3/bulk/issues/transition",
                json={
                    "bulkTransitionInputs": [
                        {"selectedIssueIdsOrKeys": ["DEMO-1"], "transitionId": "21"}
                    ]
                },
            )
        ).json()["taskId"]
        assert (await poll(client, task_id))["status"] == "ENQUEUED"
        assert site.get_issue("DEMO-1").status_id == "10000"
        clock.advance(6)
        running = await poll(client, task_id)
        assert running["status"] == "RUNNING" and 0 < running["progressPercent"] < 100
        clock.advance(5)
        # Any request runs due tasks: the write is visible before anyone polls again.
        issue = (await client.get("/rest/api/3/issue/DEMO-1")).json()
        assert issue["fields"]["status"]["name"] == "In Progress"
        assert (await poll(client, task_id))["status"] == "COMPLETE"

    @pytest.mark.parametrize(
        "body",
        [{}, {"bulkTransitionInputs": [{"transitionId": "31"}]}, {"bulkTransitionInputs": "x"}],
    )
    async def test_malformed_payload(self, client: httpx.AsyncClient, body: dict[str, Any]) -> None:
        response = await client.post("/rest/api/3/bulk/issues/transition", json=body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"]

    async def test_unknown_task(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/rest/api/3/bulk/queue/424242")
        assert response.status_code == 404

    async def test_available_transitions(self, client: httpx.AsyncClient) -> None:
        await create(client)
        data = (
            await client.get(
                "/rest/api/3/bulk/issues/transition", params={"issueIdsOrKeys": "DEMO-1"}
            )
        ).json()
        group = data["availableTransitions"][0]
        assert group["issues"] == ["DEMO-1"]
        assert [t["transitionId"] for t in group["transitions"]] == [21, 31]


class TestBulkEdit:
    async def test_edit_fields(self, client: httpx.AsyncClient, site: Site) -> None:
        await create(client, labels=["old", "keep"])
        await create(client)
        admin = site.user_by_email("admin@example.com")
        assert admin is not None
        adf = {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "new"}]}],
        }
        response = await client.post(
            "/rest/api/3/bulk/issues/fields",
            json={
                "selectedIssueIdsOrKeys": ["DEMO-1", "DEMO-2"],
                "selectedActions": [
                    "summary",
                    "priority",
                    "labels",
                    "assignee",
                    "duedate",
                    "description",
                ],
                "editedFieldsInput": {
                    "singleLineTextFields": [{"fieldId": "summary", "text": "Bulk renamed"}],
                    "priority": {"priorityId": "1"},
                    "labelsFields": [
                        {
                            "fieldId": "labels",
                            "bulkEditMultiSelectFieldOption": "ADD",
                            "labels": [{"name": "new"}],
                        }
                    ],
                    "singleSelectClearableUserPickerFields": [
                        {"fieldId": "assignee", "user": {"accountId": admin.account_id}}
                    ],
                    "datePickerFields": [
                        {"fieldId": "duedate", "date": {"formattedDate": "2024-12-24"}}
                    ],
                    "richTextFields": [{"fieldId": "description", "richText": {"adfValue": adf}}],
                },
            },
        )
        assert response.status_code == 201, response.text
        task = await poll(client, response.json()["taskId"])
        assert task["status"] == "COMPLETE" and len(task["processedAccessibleIssues"]) == 2
        first = site.get_issue("DEMO-1")
        assert first.summary == "Bulk renamed" and first.priority_id == "1"
        assert first.labels == ["old", "keep", "new"]
        assert first.assignee == admin.account_id and first.duedate == "2024-12-24"
        assert first.description_text == "new"
        assert site.get_issue("DEMO-2").labels == ["new"]

    @pytest.mark.parametrize(
        ("option", "expected"), [("REMOVE", ["keep"]), ("REPLACE", ["old"]), ("REMOVE_ALL", [])]
    )
    async def test_label_options(
        self, client: httpx.AsyncClient, site: Site, option: str, expected: list[str]
    ) -> None:
        await create(client, labels=["old", "keep"])
        response = await client.post(
            "/rest/api/3/bulk/issues/fields",
            json={
                "selectedIssueIdsOrKeys": ["DEMO-1"],
                "selectedActions": ["labels"],
                "editedFieldsInput": {
                    "labelsFields": [
                        {
                            "fieldId": "labels",
                            "bulkEditMultiSelectFieldOption": option,
                            "labels": [{"name": "old"}],
                        }
                    ]
                },
            },
        )
        assert response.status_code == 201
        assert site.get_issue("DEMO-1").labels == expected

    async def test_unassign_and_clear_due_date(self, client: httpx.AsyncClient, site: Site) -> None:
        await create(client, duedate="2024-01-01")
        response = await client.post(
            "/rest/api/3/bulk/issues/fields",
            json={
                "selectedIssueIdsOrKeys": ["DEMO-1"],
                "selectedActions": ["assignee", "duedate"],
                "editedFieldsInput": {
                    "singleSelectClearableUserPickerFields": [{"fieldId": "assignee"}],
                    "datePickerFields": [{"fieldId": "duedate"}],
                },
            },
        )
        assert response.status_code == 201
        assert site.get_issue("DEMO-1").duedate is None

    @pytest.mark.parametrize(
        ("actions", "edited"),
        [
            (["priority"], {}),
            (["status"], {}),
            (["priority"], {"priority": {"priorityId": "77"}}),
            (
                ["labels"],
                {
                    "labelsFields": [
                        {
                            "fieldId": "labels",
                            "bulkEditMultiSelectFieldOption": "ADD",
                            "labels": [{"name": "a b"}],
                        }
                    ]
                },
            ),
        ],
    )
    async def test_invalid_edits_are_400(
        self, client: httpx.AsyncClient, site: Site, actions: list[str], edited: dict[str, Any]
    ) -> None:
        await create(client)
        response = await client.post(
            "/rest/api/3/bulk/issues/fields",
            json={
                "selectedIssueIdsOrKeys": ["DEMO-1"],
                "selectedActions": actions,
                "editedFieldsInput": edited,
            },
        )
        assert response.status_code == 400
        assert set(response.json()) == {"errors"}
        assert site.tasks.tasks == {}
