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
