"""Third-party Jira clients, unmodified, against the emulator over a real socket.

``jira`` (pycontribs) is exercised with its default REST v2 and with
``options={"rest_api_version": "3"}``; ``atlassian-python-api`` with ``cloud=True``.

Library limitations found (they fail against real Jira Cloud too, so the tests use the nearest
working call and assert the limitation):

* ``jira``: ``project_issue_types()`` and ``createmeta_issuetypes()`` refuse to run on Cloud
  (``_check_createmeta_issuetypes`` raises for ``deploymentType == "Cloud"``; the former also
  reads Data Center's ``values`` key). The tests read ``issue/createmeta/{key}/issuetypes``
  through the client's own ``_get_json`` and ``project(key, expand="issueTypes")``.
* ``jira``: a v3 ``create_issue(description="text")`` is refused (400, description must be
  ADF), exactly as Jira Cloud refuses it; v3 callers pass an ADF document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from atlassian import Jira
from jira import JIRA, JIRAError

from ticketbridge.fakejira import Site
from ticketbridge.fakejira.server import BackgroundServer

from .conftest import ADMIN

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "from a client"}]}],
}


def site_of(server: BackgroundServer) -> Site:
    return server.state.site()


def search_pages(server: BackgroundServer, version: int) -> int:
    return site_of(server).stats.routes[f"GET /rest/api/{version}/search/jql"]


def expected_keys(server: BackgroundServer, jql: str) -> set[str]:
    site = site_of(server)
    return {site.issues[i].key for i in site.search.matching_ids(jql, None)}


@pytest.fixture(params=["2", "3"], ids=["jira-v2", "jira-v3"])
def pycontribs(request: pytest.FixtureRequest, live_jira: BackgroundServer) -> Iterator[JIRA]:
    options: dict[str, Any] = {"check_update": False}
    if request.param == "3":
        options["rest_api_version"] = "3"
    client = JIRA(server=live_jira.base_url, basic_auth=ADMIN, options=options)
    yield client
    client.close()


@pytest.fixture
def atlassian_client(live_jira: BackgroundServer) -> Iterator[Jira]:
    client = Jira(url=live_jira.base_url, username=ADMIN[0], password=ADMIN[1], cloud=True)
    yield client
    client.close()


def version_of(client: JIRA) -> int:
    return int(client._options["rest_api_version"])


def description(client: JIRA) -> Any:
    return ADF if version_of(client) == 3 else "from a client"


class TestPycontribsJira:
    def test_connects_as_cloud(self, pycontribs: JIRA) -> None:
        assert pycontribs.deploymentType == "Cloud"
        assert pycontribs.myself()["emailAddress"] == ADMIN[0]

    def test_create_issue(self, pycontribs: JIRA, live_jira: BackgroundServer) -> None:
        issue = pycontribs.create_issue(
            project="OPS",
            summary="Créé par jira ✓",
            issuetype={"name": "Bug"},
            labels=["client"],
            description=description(pycontribs),
        )
        assert issue.key.startswith("OPS-")
        assert issue.fields.summary == "Créé par jira ✓"
        assert issue.fields.status.name == "To Do"
        assert site_of(live_jira).get_issue(issue.key).description_text == "from a client"

    def test_bulk_create_reports_the_invalid_item(
        self, pycontribs: JIRA, live_jira: BackgroundServer
    ) -> None:
        fields = [
            {"project": {"key": "X01"}, "summary": f"bulk {n}", "issuetype": {"id": "10001"}}
            for n in range(50)
        ]
        fields[17]["summary"] = ""
        before = site_of(live_jira).issues_count()
        results = pycontribs.create_issues(fields, prefetch=False)
        statuses = [r["status"] for r in results]
        assert statuses.count("Success") == 49 and statuses[17] == "Error"
        assert results[17]["error"] == {"summary": "You must specify a summary of the issue."}
        assert site_of(live_jira).issues_count() == before + 49

    def test_search_every_page(self, pycontribs: JIRA, live_jira: BackgroundServer) -> None:
        jql = "project = ACME ORDER BY key ASC"
        pages_before = search_pages(live_jira, version_of(pycontribs))
        issues = pycontribs.search_issues(jql, maxResults=0, fields="summary")
        keys = [i.key for i in issues]
        assert len(keys) == len(set(keys))
        assert set(keys) == expected_keys(live_jira, jql) and len(keys) >= 250
        assert search_pages(live_jira, version_of(pycontribs)) - pages_before >= 3
        enhanced = pycontribs.enhanced_search_issues(jql, maxResults=0, fields=["key"])
        assert [i.key for i in enhanced] == keys
        assert pycontribs.approximate_issue_count("project = ACME") == len(keys)

    def test_transition(self, pycontribs: JIRA) -> None:
        issue = pycontribs.create_issue(
            project="OPS", summary="to close", issuetype={"name": "Task"}
        )
        names = [t["name"] for t in pycontribs.transitions(issue)]
        assert names == ["In Progress", "Done"]
        pycontribs.transition_issue(issue, "Done")
        reloaded = pycontribs.issue(issue.key)
        assert reloaded.fields.status.name == "Done"
        resolution = reloaded.fields.resolution
        assert resolution is not None and resolution.name == "Done"

    def test_projects(self, pycontribs: JIRA) -> None:
        projects = pycontribs.projects()
        assert {"ACME", "OPS", "X00"} <= {p.key for p in projects} and len(projects) == 60
        assert pycontribs.project("OPS").name == "Operations"

    def test_issue_types(self, pycontribs: JIRA) -> None:
        with pytest.raises(JIRAError, match="Unsupported JIRA deployment type"):
            pycontribs.project_issue_types("ACME")  # library refuses on Cloud (see docstring)
        meta = pycontribs._get_json("issue/createmeta/ACME/issuetypes")
        assert {t["name"] for t in meta["issueTypes"]} == {
            "Bug",
            "Task",
            "Story",
            "Epic",
            "Sub-task",
        }
        typed = pycontribs.project("ACME", expand="issueTypes").issueTypes
        assert {t.name for t in typed} == {t["name"] for t in meta["issueTypes"]}
        assert pycontribs.issue_type_by_name("Story", project="ACME").id == "10003"

    def test_assignable_users(self, pycontribs: JIRA, live_jira: BackgroundServer) -> None:
        users = pycontribs.search_assignable_users_for_issues(query="a", project="ACME")
        assert users and all(u.active for u in users)
        everyone = {u.account_id for u in site_of(live_jira).users.values() if u.active}
        assert {u.accountId for u in users} <= everyone


class TestAtlassianPythonApi:
    def test_create_issue(self, atlassian_client: Jira, live_jira: BackgroundServer) -> None:
        created = atlassian_client.create_issue(
            fields={
                "project": {"key": "OPS"},
                "summary": "from atlassian-python-api",
                "issuetype": {"name": "Task"},
                "description": "plain v2 text",
            }
        )
        assert set(created) == {"id", "key", "self"}
        stored = site_of(live_jira).get_issue(created["key"])
        assert stored.description_text == "plain v2 text"

    def test_bulk_create(self, atlassian_client: Jira) -> None:
        result = atlassian_client.create_issues(
            [
                {
                    "fields": {
                        "project": {"key": "X02"},
                        "summary": f"bulk {n}",
                        "issuetype": {"id": "10004"},
                    }
                }
                for n in range(5)
            ]
        )
        assert [i["key"] for i in result["issues"]] == [f"X02-{n}" for n in range(1, 6)]
        assert result["errors"] == []

    def test_jql_every_page(self, atlassian_client: Jira, live_jira: BackgroundServer) -> None:
        jql = "project = OPS ORDER BY created DESC"
        pages_before = search_pages(live_jira, 3)
        issues = atlassian_client.enhanced_jql_get_list_of_tickets(jql, fields="key,summary")
        keys = [i["key"] for i in issues]
        assert len(keys) == len(set(keys)) and set(keys) == expected_keys(live_jira, jql)
        assert search_pages(live_jira, 3) - pages_before >= 5  # 50 per page by default
        first = atlassian_client.enhanced_jql(jql, fields="key", limit=10)
        assert [i["key"] for i in first["issues"]] == keys[:10] and first["nextPageToken"]

    def test_projects_follow_absolute_next_page(
        self, atlassian_client: Jira, live_jira: BackgroundServer
    ) -> None:
        calls_before = site_of(live_jira).stats.routes["GET /rest/api/2/project/search"]
        projects = atlassian_client.projects()
        assert len(projects) == 60 and len({p["key"] for p in projects}) == 60
        assert site_of(live_jira).stats.routes["GET /rest/api/2/project/search"] == (
            calls_before + 2
        )

    def test_issue_types(self, atlassian_client: Jira) -> None:
        meta = atlassian_client.issue_createmeta_issuetypes("OPS")
        assert meta["total"] == 5 and len(meta["issueTypes"]) == 5
        assert {t["name"] for t in atlassian_client.get_issue_types()} == {
            t["name"] for t in meta["issueTypes"]
        }

    def test_assignable_users(self, atlassian_client: Jira, live_jira: BackgroundServer) -> None:
        users = atlassian_client.get_all_assignable_users_for_project("ACME", limit=5)
        assert isinstance(users, list) and len(users) == 5
        page2 = atlassian_client.get_all_assignable_users_for_project("ACME", start=5, limit=5)
        assert not {u["accountId"] for u in users} & {u["accountId"] for u in page2}

    def test_set_issue_status(self, atlassian_client: Jira, live_jira: BackgroundServer) -> None:
        created = atlassian_client.issue_create(
            fields={
                "project": {"key": "OPS"},
                "summary": "status change",
                "issuetype": {"id": "10001"},
            }
        )
        transitions = atlassian_client.get_issue_transitions(created["key"])
        assert transitions == [
            {"name": "In Progress", "id": 21, "to": "In Progress"},
            {"name": "Done", "id": 31, "to": "Done"},
        ]
        atlassian_client.set_issue_status(created["key"], "In Progress")
        assert atlassian_client.get_issue_status(created["key"]) == "In Progress"
        atlassian_client.set_issue_status_by_transition_id(created["key"], 31)
        stored = site_of(live_jira).get_issue(created["key"])
        assert stored.status.name == "Done" and stored.resolution_id == "10000"
