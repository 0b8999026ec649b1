"""Workflow: the transitions offered, status changes, resolution bookkeeping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ticketbridge.fakejira import Site

from .conftest import Clock, create


async def transition(client: httpx.AsyncClient, key: str, tid: Any, **extra: Any) -> httpx.Response:
    return await client.post(
        f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": tid}, **extra}
    )


class TestTransitionsList:
    async def test_shape_and_targets(self, client: httpx.AsyncClient) -> None:
        await create(client)
        data = (await client.get("/rest/api/3/issue/DEMO-1/transitions")).json()
        assert data["expand"] == "transitions"
        assert [(t["id"], t["name"], t["to"]["name"]) for t in data["transitions"]] == [
            ("21", "In Progress", "In Progress"),
            ("31", "Done", "Done"),
        ]
        first = data["transitions"][0]
        assert set(first) == {
            "id",
            "name",
            "to",
            "hasScreen",
            "isGlobal",
            "isInitial",
            "isAvailable",
            "isConditional",
            "isLooped",
        }
        assert first["to"]["statusCategory"] == {
            "self": "https://acme.atlassian.net/rest/api/3/statuscategory/4",
            "id": 4,
            "key": "indeterminate",
            "colorName": "yellow",
            "name": "In Progress",
        }

    async def test_filter_by_transition_id(self, client: httpx.AsyncClient) -> None:
        await create(client)
        data = (
            await client.get("/rest/api/3/issue/DEMO-1/transitions", params={"transitionId": "31"})
        ).json()
        assert [t["id"] for t in data["transitions"]] == ["31"]

    async def test_unknown_issue(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/rest/api/3/issue/X-1/transitions")).status_code == 404


class TestTransition:
    async def test_to_done_sets_resolution_and_back_clears_it(
        self, client: httpx.AsyncClient, site: Site, clock: Clock
    ) -> None:
        await create(client)
        clock.advance(3600)
        assert (await transition(client, "DEMO-1", "31")).status_code == 204
        issue = site.get_issue("DEMO-1")
        fields = (await client.get("/rest/api/3/issue/DEMO-1")).json()["fields"]
        assert fields["status"]["name"] == "Done"
        assert fields["resolution"]["name"] == "Done"
        assert fields["resolutiondate"] == "2024-06-01T01:00:00.000+0000"
        assert fields["statuscategorychangedate"] == "2024-06-01T01:00:00.000+0000"
        assert site.search_doc(issue)["statusCategory"]["key"] == "done"
        clock.advance(60)
        assert (await transition(client, "DEMO-1", 11)).status_code == 204  # int id, like jira
        fields = (await client.get("/rest/api/3/issue/DEMO-1")).json()["fields"]
        assert fields["status"]["name"] == "To Do"
        assert fields["resolution"] is None and fields["resolutiondate"] is None

    async def test_resolution_chosen_on_the_transition_screen(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await create(client)
        response = await transition(
            client, "DEMO-1", "31", fields={"resolution": {"name": "Won't Do"}}
        )
        assert response.status_code == 204
        assert site.get_issue("DEMO-1").resolution_id == "10001"

    async def test_in_progress_keeps_category_change_date(
        self, client: httpx.AsyncClient, site: Site, clock: Clock
    ) -> None:
        await create(client)
        clock.advance(10)
        await transition(client, "DEMO-1", "21")
        issue = site.get_issue("DEMO-1")
        assert issue.status_id == "3" and issue.resolution_id is None
        assert issue.statuscategorychangedate == issue.created + 10_000

    @pytest.mark.parametrize("tid", ["11", "99", "abc"])
    async def test_invalid_transition_is_400(
        self, client: httpx.AsyncClient, site: Site, tid: str
    ) -> None:
        await create(client)  # in To Do already, so "11" is not offered
        response = await transition(client, "DEMO-1", tid)
        assert response.status_code == 400
        assert response.json() == {
            "errorMessages": [f"Transition id '{tid}' is not valid for this issue."],
            "errors": {},
        }
        assert site.get_issue("DEMO-1").status_id == "10000"

    async def test_missing_transition_id(self, client: httpx.AsyncClient) -> None:
        await create(client)
        response = await client.post(
            "/rest/api/3/issue/DEMO-1/transitions", json={"transition": {"name": "Done"}}
        )
        assert response.status_code == 400

    async def test_fields_on_transition_are_validated(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await create(client)
        response = await transition(client, "DEMO-1", "21", fields={"labels": ["a b"]})
        assert response.status_code == 400
        assert site.get_issue("DEMO-1").status_id == "10000"


class TestClassicWorkflow:
    """The restricted classic workflow, chosen per project: statuses several steps apart."""

    async def test_admin_adds_a_classic_project(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/_fake/projects", json={"key": "CLS", "workflow": "classic"})
        assert response.status_code == 201
        assert response.json()["workflow"] == "classic"
        bad = await client.post("/_fake/projects", json={"key": "X", "workflow": "kanban"})
        assert bad.status_code == 400 and "unknown workflow" in bad.json()["error"]

    async def test_the_path_open_to_closed_and_back(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        site.add_project("CLS", "Classic", workflow="classic")
        await create(client, project="CLS")
        path = []
        for tid in ("4", "5", "2", "3", "4", "301"):
            offered = (await client.get("/rest/api/3/issue/CLS-1/transitions")).json()
            assert tid in [t["id"] for t in offered["transitions"]]
            assert all(t["isGlobal"] is False for t in offered["transitions"])
            assert (await transition(client, "CLS-1", tid)).status_code == 204
            issue = site.get_issue("CLS-1")
            path.append((issue.status.name, issue.resolution_id is not None))
        assert path == [
            ("In Progress", False),
            ("Resolved", True),
            ("Closed", True),
            ("Reopened", False),
            ("In Progress", False),
            ("Open", False),
        ]

    async def test_a_new_issue_is_open_and_cannot_jump_to_closed(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        site.add_project("CLS", "Classic", workflow="classic")
        await create(client, project="CLS")
        assert site.get_issue("CLS-1").status.name == "Open"
        response = await transition(client, "CLS-1", "2")
        assert response.status_code == 400

    async def test_seeded_classic_projects_use_classic_statuses(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        response = await client.post(
            "/_fake/seed", json={"projects": 1, "issues_per_project": 40, "workflow": "classic"}
        )
        assert response.status_code == 200
        names = {i.status.name for i in site.issues.values()}
        assert names <= {"Open", "In Progress", "Resolved", "Closed"} and "Open" in names
        assert all(
            (i.resolution_id is not None) == (i.status.category.key == "done")
            for i in site.issues.values()
        )
        bad = await client.post("/_fake/seed", json={"projects": 1, "workflow": "nope"})
        assert bad.status_code == 400


class TestTransitionScreens:
    async def test_required_fields_are_listed_and_enforced(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        response = await client.put(
            "/_fake/projects/DEMO/screens/31", json={"required": ["resolution"]}
        )
        assert response.status_code == 200
        await create(client)
        listed = await client.get(
            "/rest/api/3/issue/DEMO-1/transitions", params={"expand": "transitions.fields"}
        )
        done = next(t for t in listed.json()["transitions"] if t["id"] == "31")
        assert done["hasScreen"] is True
        field = done["fields"]["resolution"]
        assert (field["required"], field["name"], field["key"]) == (
            True,
            "Resolution",
            "resolution",
        )
        assert {v["name"] for v in field["allowedValues"]} >= {"Done", "Won't Do"}
        plain = await client.get("/rest/api/3/issue/DEMO-1/transitions")
        assert all("fields" not in t for t in plain.json()["transitions"])

        refused = await transition(client, "DEMO-1", "31")
        assert refused.status_code == 400
        assert refused.json() == {
            "errorMessages": [],
            "errors": {"resolution": "Resolution is required."},
        }
        ok = await transition(client, "DEMO-1", "31", fields={"resolution": {"name": "Done"}})
        assert ok.status_code == 204

    async def test_a_screen_can_be_removed(self, client: httpx.AsyncClient, site: Site) -> None:
        site.set_screen("DEMO", "31", ["resolution"])
        await client.put("/_fake/projects/DEMO/screens/31", json={"required": []})
        await create(client)
        assert (await transition(client, "DEMO-1", "31")).status_code == 204

    async def test_bad_screens_are_400_or_404(self, client: httpx.AsyncClient) -> None:
        put = client.put
        assert (
            await put("/_fake/projects/NOPE/screens/31", json={"required": []})
        ).status_code == 404
        assert (
            await put("/_fake/projects/DEMO/screens/5", json={"required": []})
        ).status_code == 400  # not a transition of the default workflow
        assert (
            await put("/_fake/projects/DEMO/screens/31", json={"required": ["nope"]})
        ).status_code == 400
