"""Issue create/get/edit/delete: Jira's shapes, validation rules and v2/v3 differences."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ticketbridge.fakejira import Site
from ticketbridge.fakejira.text import text_to_adf

from .conftest import create

ADF = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 1}, "content": [{"type": "text", "text": "Titre"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "Ça marche 🚀"}]},
    ],
}


async def create_error(
    client: httpx.AsyncClient, fields: dict[str, Any], api: int = 3
) -> dict[str, Any]:
    base: dict[str, Any] = {"project": {"key": "DEMO"}, "issuetype": {"id": "10001"}}
    base["summary"] = "ok"
    base.update(fields)
    body = {"fields": {k: v for k, v in base.items() if v is not ...}}
    response = await client.post(f"/rest/api/{api}/issue", json=body)
    assert response.status_code == 400, response.text
    data: dict[str, Any] = response.json()
    assert set(data) == {"errorMessages", "errors"}
    return data


class TestCreate:
    async def test_created_issue_has_jira_shape_and_defaults(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        created = await create(
            client,
            "Première issue ✨",
            description=ADF,
            labels=["backend", "ux"],
            duedate="2024-07-01",
        )
        assert created == {
            "id": created["id"],
            "key": "DEMO-1",
            "self": f"https://acme.atlassian.net/rest/api/3/issue/{created['id']}",
        }
        assert created["id"].isdigit()
        issue = (await client.get("/rest/api/3/issue/DEMO-1")).json()
        fields = issue["fields"]
        assert fields["summary"] == "Première issue ✨"
        assert fields["description"] == ADF
        assert fields["status"]["name"] == "To Do"
        assert fields["status"]["statusCategory"]["key"] == "new"
        assert fields["priority"]["name"] == "Medium"
        assert fields["reporter"]["emailAddress"] == "admin@example.com"
        assert fields["assignee"] is None
        assert fields["resolution"] is None
        assert fields["labels"] == ["backend", "ux"]
        assert fields["duedate"] == "2024-07-01"
        assert fields["created"] == "2024-06-01T00:00:00.000+0000"
        assert fields["issuetype"] == {
            **fields["issuetype"],
            "id": "10001",
            "name": "Task",
            "subtask": False,
        }
        assert site.get_issue("DEMO-1").summary == "Première issue ✨"

    async def test_keys_count_up_per_project(self, client: httpx.AsyncClient, site: Site) -> None:
        site.add_project("OPS", "Operations")
        keys = [(await create(client, project=p))["key"] for p in ("DEMO", "OPS", "DEMO")]
        assert keys == ["DEMO-1", "OPS-1", "DEMO-2"]
        assert site.issues_count() == 3

    async def test_custom_fields_round_trip(self, client: httpx.AsyncClient) -> None:
        await create(client, customfield_10016=5, customfield_12345={"any": ["json", 1]})
        fields = (await client.get("/rest/api/3/issue/DEMO-1")).json()["fields"]
        assert fields["customfield_10016"] == 5
        assert fields["customfield_12345"] == {"any": ["json", 1]}
        assert fields["customfield_10030"] is None  # declared but unset

    async def test_subtask_with_parent_and_epic_children(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        epic = await create(client, "Epic", issuetype="10000")
        story = await create(client, "Story", issuetype="10003", parent={"key": epic["key"]})
        sub = await create(client, "Sub", issuetype="10002", parent={"id": story["id"]})
        fields = (await client.get(f"/rest/api/3/issue/{sub['key']}")).json()["fields"]
        assert fields["parent"]["key"] == story["key"]
        story_fields = (await client.get(f"/rest/api/3/issue/{story['key']}")).json()["fields"]
        assert story_fields["parent"]["key"] == epic["key"]
        assert [s["key"] for s in story_fields["subtasks"]] == [sub["key"]]
        assert site.search_doc(site.get_issue(sub["key"]))["parent"] == {
            "id": story["id"],
            "key": story["key"],
        }


class TestCreateValidation:
    async def test_missing_summary(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"summary": ...})
        assert data["errors"] == {"summary": "You must specify a summary of the issue."}

    async def test_unknown_project_is_reported_alone(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"project": {"key": "NOPE"}, "summary": ...})
        assert data["errors"] == {"project": "Specify a valid project ID or key"}

    async def test_unknown_issue_type(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"issuetype": {"id": "99999"}})
        assert data["errors"] == {"issuetype": "The issue type selected is invalid."}

    async def test_subtask_without_parent(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"issuetype": {"id": "10002"}})
        assert "parent" in data["errors"]["issuetype"]

    async def test_unknown_parent(self, client: httpx.AsyncClient) -> None:
        data = await create_error(
            client, {"issuetype": {"id": "10002"}, "parent": {"key": "DEMO-999"}}
        )
        assert data["errors"] == {"parent": "Could not find issue by id or key."}

    async def test_parent_in_wrong_hierarchy(self, client: httpx.AsyncClient) -> None:
        task = await create(client)
        data = await create_error(
            client, {"issuetype": {"id": "10003"}, "parent": {"key": task["key"]}}
        )
        assert "hierarchy" in data["errors"]["parent"]

    async def test_unknown_assignee(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"assignee": {"accountId": "nobody"}})
        assert set(data["errors"]) == {"assignee"}

    async def test_inactive_assignee(self, client: httpx.AsyncClient, site: Site) -> None:
        gone = site.add_user("gone@example.com", "Gone User", active=False)
        data = await create_error(client, {"assignee": {"accountId": gone.account_id}})
        assert data["errors"] == {"assignee": "User 'Gone User' cannot be assigned issues."}

    async def test_label_with_space(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"labels": ["ok", "not ok"]})
        assert data["errors"] == {"labels": "The label 'not ok' contains spaces which is invalid."}

    @pytest.mark.parametrize("due", ["2024-13-01", "01/02/2024", "tomorrow", 20240101])
    async def test_bad_due_date(self, client: httpx.AsyncClient, due: object) -> None:
        data = await create_error(client, {"duedate": due})
        assert data["errors"] == {"duedate": f"Error parsing date string: {due}"}

    async def test_unknown_priority(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"priority": {"id": "42"}})
        assert data["errors"] == {"priority": "The priority selected is invalid."}

    async def test_v3_description_must_be_adf(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"description": "plain"})
        assert "Atlassian Document" in data["errors"]["description"]

    async def test_unknown_and_read_only_fields(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"status": {"id": "3"}, "foo": 1})
        assert set(data["errors"]) == {"status", "foo"}
        assert "cannot be set" in data["errors"]["foo"]

    async def test_all_problems_reported_together(self, client: httpx.AsyncClient) -> None:
        data = await create_error(client, {"summary": "", "labels": ["a b"], "duedate": "x"})
        assert set(data["errors"]) == {"summary", "labels", "duedate"}

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (b"", "No content to map to Object due to end of input"),
            (
                b"{not json",
                "There was an error parsing JSON. Check that your request body is valid.",
            ),
            (
                b"[1, 2]",
                "Invalid request payload. Refer to the REST API documentation and try again.",
            ),
        ],
    )
    async def test_malformed_body(
        self, client: httpx.AsyncClient, raw: bytes, message: str
    ) -> None:
        response = await client.post(
            "/rest/api/3/issue", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == {"errorMessages": [message], "errors": {}}


class TestGet:
    async def test_unknown_issue_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/rest/api/3/issue/DEMO-404")
        assert response.status_code == 404
        assert response.json() == {
            "errorMessages": ["Issue does not exist or you do not have permission to see it."],
            "errors": {},
        }

    async def test_by_id_and_case_insensitive_key(self, client: httpx.AsyncClient) -> None:
        created = await create(client)
        by_id = (await client.get(f"/rest/api/3/issue/{created['id']}")).json()
        by_key = (await client.get("/rest/api/3/issue/demo-1")).json()
        assert by_id["key"] == by_key["key"] == "DEMO-1"

    @pytest.mark.parametrize(
        ("param", "expected"),
        [
            ("summary,status", {"summary", "status"}),
            ("*all,-description,-subtasks", None),
            ("-description", None),
            ("*navigable", None),
            ("id", set()),
        ],
    )
    async def test_fields_selection(
        self, client: httpx.AsyncClient, param: str, expected: set[str] | None
    ) -> None:
        await create(client, description=ADF)
        fields = (await client.get("/rest/api/3/issue/DEMO-1", params={"fields": param})).json()[
            "fields"
        ]
        if expected is None:
            assert "summary" in fields and "created" in fields
            assert ("description" in fields) == ("-description" not in param)
        else:
            assert set(fields) == expected

    async def test_expand_transitions_and_names(self, client: httpx.AsyncClient) -> None:
        await create(client)
        data = (
            await client.get(
                "/rest/api/3/issue/DEMO-1",
                params={"expand": "names,transitions", "fields": "summary"},
            )
        ).json()
        assert data["names"] == {"summary": "Summary"}
        assert [t["id"] for t in data["transitions"]] == ["21", "31"]


class TestV2Description:
    async def test_v2_string_is_stored_as_adf_and_read_back(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        text = "First line\nsecond line\n\nNew paragraph — ünïcode"
        await create(client, api=2, description=text)
        assert site.get_issue("DEMO-1").description == text_to_adf(text)
        v2 = (await client.get("/rest/api/2/issue/DEMO-1")).json()["fields"]["description"]
        v3 = (await client.get("/rest/api/3/issue/DEMO-1")).json()["fields"]["description"]
        assert v2 == text
        assert v3["type"] == "doc" and len(v3["content"]) == 2

    async def test_v2_rejects_adf_and_v3_to_v2_is_plain_text(
        self, client: httpx.AsyncClient
    ) -> None:
        data = await create_error(client, {"description": ADF}, api=2)
        assert data["errors"] == {"description": "Operation value must be a string"}
        await create(client, description=ADF)
        v2 = (await client.get("/rest/api/2/issue/DEMO-1")).json()["fields"]["description"]
        assert v2 == "Titre\n\nÇa marche 🚀"


class TestEdit:
    async def test_put_fields_and_label_operations(
        self, client: httpx.AsyncClient, site: Site, clock: Any
    ) -> None:
        await create(client, labels=["a", "b"])
        clock.advance(60)
        response = await client.put(
            "/rest/api/3/issue/DEMO-1",
            json={
                "fields": {
                    "summary": "Renamed",
                    "priority": {"name": "High"},
                    "duedate": "2024-09-09",
                },
                "update": {"labels": [{"add": "c"}, {"remove": "a"}]},
            },
        )
        assert response.status_code == 204
        assert response.content == b""
        issue = site.get_issue("DEMO-1")
        assert (issue.summary, issue.priority_id, issue.labels) == ("Renamed", "2", ["b", "c"])
        assert issue.updated == issue.created + 60_000
        assert site.search_doc(issue)["summary"] == "Renamed"

    async def test_return_issue(self, client: httpx.AsyncClient) -> None:
        await create(client)
        response = await client.put(
            "/rest/api/3/issue/DEMO-1",
            params={"returnIssue": "true"},
            json={"update": {"summary": [{"set": "Via update"}]}},
        )
        assert response.status_code == 200
        assert response.json()["fields"]["summary"] == "Via update"

    async def test_assign_and_unassign(self, client: httpx.AsyncClient, site: Site) -> None:
        await create(client)
        admin = site.user_by_email("admin@example.com")
        assert admin is not None
        await client.put(
            "/rest/api/3/issue/DEMO-1",
            json={"fields": {"assignee": {"accountId": admin.account_id}}},
        )
        assert site.get_issue("DEMO-1").assignee == admin.account_id
        await client.put("/rest/api/3/issue/DEMO-1", json={"fields": {"assignee": None}})
        assert site.get_issue("DEMO-1").assignee is None

    async def test_status_is_not_editable(self, client: httpx.AsyncClient, site: Site) -> None:
        await create(client)
        response = await client.put(
            "/rest/api/3/issue/DEMO-1", json={"fields": {"status": {"name": "Done"}}}
        )
        assert response.status_code == 400
        assert "cannot be set" in response.json()["errors"]["status"]
        assert site.get_issue("DEMO-1").status_id == "10000"

    async def test_invalid_edit_changes_nothing(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await create(client, labels=["keep"])
        response = await client.put(
            "/rest/api/3/issue/DEMO-1", json={"fields": {"summary": "New", "labels": ["has space"]}}
        )
        assert response.status_code == 400
        assert site.get_issue("DEMO-1").summary == "Something broke"
        assert site.get_issue("DEMO-1").labels == ["keep"]

    async def test_edit_unknown_issue(self, client: httpx.AsyncClient) -> None:
        response = await client.put("/rest/api/3/issue/NOPE-1", json={"fields": {}})
        assert response.status_code == 404


class TestDelete:
    async def test_delete(self, client: httpx.AsyncClient, site: Site) -> None:
        await create(client)
        assert (await client.delete("/rest/api/3/issue/DEMO-1")).status_code == 204
        assert site.issues_count() == 0
        assert (await client.get("/rest/api/3/issue/DEMO-1")).status_code == 404

    async def test_subtasks_need_delete_subtasks(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        parent = await create(client)
        await create(client, issuetype="10002", parent={"key": parent["key"]})
        refused = await client.delete("/rest/api/3/issue/DEMO-1")
        assert refused.status_code == 400
        assert "subtasks" in refused.json()["errorMessages"][0]
        assert site.issues_count() == 2
        ok = await client.delete("/rest/api/3/issue/DEMO-1", params={"deleteSubtasks": "true"})
        assert ok.status_code == 204
        assert site.issues_count() == 0
