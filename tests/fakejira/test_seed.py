"""Seed data: determinism, realism (consistent workflow data) and speed."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from ticketbridge.fakejira import FakeJiraState, SeedSpec, Site
from ticketbridge.fakejira.model import CAT_DONE
from ticketbridge.fakejira.routes_admin import stored_issue

from .conftest import START_MS


def snapshot(site: Site) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in dataclasses.asdict(i).items() if k != "search_doc"}
        for i in site.issues.values()
    ]


def seeded(spec: SeedSpec) -> Site:
    site = Site("s")
    site.reset(spec)
    return site


class TestDeterminism:
    @pytest.mark.slow
    def test_same_seed_same_issues(self) -> None:
        spec = SeedSpec(projects=3, issues_per_project=200, users=25, seed=11, now_ms=START_MS)
        first, second = seeded(spec), seeded(spec)
        assert snapshot(first) == snapshot(second)
        assert [u.account_id for u in first.users.values()] == [
            u.account_id for u in second.users.values()
        ]

    def test_different_seed_differs(self) -> None:
        base = SeedSpec(projects=2, issues_per_project=100, seed=1, now_ms=START_MS)
        other = dataclasses.replace(base, seed=2)
        assert snapshot(seeded(base)) != snapshot(seeded(other))

    def test_cli_total_means_exactly_n_issues(self) -> None:
        for total in (1, 7, 1000, 1001):
            site = seeded(SeedSpec.for_total(total, now_ms=START_MS))
            assert site.issues_count() == total
        assert SeedSpec.for_total(1000).seed == 1000

    def test_state_seeds_every_new_site(self) -> None:
        state = FakeJiraState(seed=SeedSpec(projects=1, issues_per_project=5, now_ms=START_MS))
        assert state.site("a.atlassian.net").issues_count() == 5
        assert snapshot(state.site("a.atlassian.net")) == snapshot(state.site("b.atlassian.net"))


class TestRealism:
    def test_content_is_varied_and_consistent(self) -> None:
        site = seeded(
            SeedSpec(projects=4, issues_per_project=250, users=30, seed=3, now_ms=START_MS)
        )
        issues = list(site.issues.values())
        users = list(site.users.values())
        assert 25 <= len(users) <= 51 and any(not u.active for u in users)
        assert len(site.projects) == 4
        assert {i.issuetype.name for i in issues} == {"Epic", "Story", "Task", "Bug", "Sub-task"}
        assert {i.status.name for i in issues} == {"To Do", "In Progress", "Done"}
        for issue in issues:
            done = issue.status.category is CAT_DONE
            assert (issue.resolution_id is not None) == done
            assert (issue.resolutiondate is not None) == done
            assert issue.created <= issue.statuscategorychangedate <= issue.updated <= START_MS
            assert issue.created >= START_MS - 366 * 86_400_000
            if issue.issuetype.subtask:
                parent = site.issues[issue.parent_id or 0]
                assert not parent.issuetype.subtask and parent.project_id == issue.project_id
            elif issue.parent_id is not None:
                assert site.issues[issue.parent_id].issuetype.name == "Epic"
        summaries = " ".join(i.summary for i in issues)
        assert any(ord(c) > 0x3000 for c in summaries)  # CJK
        assert any(c in summaries for c in "éüñ")  # accents
        assert any(ord(c) > 0x1F000 for c in summaries)  # emoji
        assert any(i.assignee is None for i in issues)
        assert any(i.duedate for i in issues) and any(i.labels for i in issues)
        kinds = {n["type"] for i in issues if i.description for n in i.description["content"]}
        assert {"heading", "paragraph", "orderedList", "codeBlock"} <= kinds
        assert any("@" in i.description_text for i in issues)  # mentions
        ids = [i.id for i in issues]
        created = [i.created for i in issues]
        assert ids == sorted(ids) and created == sorted(created)

    def test_seeded_issues_are_searchable_and_editable(self) -> None:
        site = seeded(SeedSpec(projects=2, issues_per_project=30, now_ms=START_MS))
        issue = site.get_issue("ACME-1")
        site.edit_issue(issue, {"fields": {"summary": "changed"}})
        stored = stored_issue(site, "ACME-1")
        assert stored is not None and stored["summary"] == "changed"
        assert len(site.search.matching_ids("project = OPS", None)) == 30


class TestAdminSeeding:
    async def test_seed_and_reset_endpoints(self, client: httpx.AsyncClient, site: Site) -> None:
        seeded_info = (
            await client.post(
                "/_fake/seed",
                json={
                    "projects": 2,
                    "issues_per_project": 10,
                    "users": 5,
                    "seed": 3,
                    "now_ms": START_MS,
                },
            )
        ).json()
        assert seeded_info == {"site": "acme", "projects": 2, "users": 6, "issues": 20}
        total = (await client.post("/_fake/seed", json={"issues": 33})).json()
        assert total["issues"] == 33
        reset = (await client.post("/_fake/reset")).json()
        assert reset == {"site": "acme", "projects": 1, "users": 1, "issues": 0}
        reseeded = (await client.post("/_fake/reset", json={"seed": {"issues": 12}})).json()
        assert reseeded["issues"] == 12
        bad = await client.post("/_fake/seed", json={"projects": -1})
        assert bad.status_code == 400

    async def test_stored_issue_and_users_endpoints(self, client: httpx.AsyncClient) -> None:
        created = await client.post(
            "/_fake/users",
            json={"email": "qa@example.com", "displayName": "QA", "apiToken": "qa-token"},
        )
        assert created.status_code == 201 and created.json()["hasApiToken"] is True
        async with httpx.AsyncClient(
            transport=client._transport,  # same app, QA's credentials
            base_url=str(client.base_url),
            auth=("qa@example.com", "qa-token"),
        ) as qa:
            assert (await qa.get("/rest/api/3/myself")).json()["displayName"] == "QA"
        listed = (await client.get("/_fake/users")).json()
        assert {u["emailAddress"] for u in listed} == {"admin@example.com", "qa@example.com"}
        assert (await client.get("/_fake/issues/DEMO-1")).status_code == 404
