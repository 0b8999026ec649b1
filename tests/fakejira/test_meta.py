"""Authentication, sites, metadata endpoints, the removed search API and unknown paths."""

from __future__ import annotations

import httpx
import pytest

from ticketbridge.fakejira import FakeJiraApp, FakeJiraState, Site

from .conftest import make_client

NOT_AUTHENTICATED = {
    "errorMessages": [
        "You are not authenticated. Authentication required to perform this operation."
    ],
    "errors": {},
}


class TestAuth:
    @pytest.mark.parametrize(
        "auth", [None, ("admin@example.com", "wrong"), ("nobody@example.com", "fake-token")]
    )
    async def test_bad_or_missing_credentials_are_401(
        self, app: FakeJiraApp, auth: tuple[str, str] | None
    ) -> None:
        async with make_client(app, auth=auth) as anon:
            response = await anon.get("/rest/api/3/myself")
        assert response.status_code == 401
        assert response.json() == NOT_AUTHENTICATED
        assert response.headers["WWW-Authenticate"].startswith("OAuth realm=")

    async def test_bearer_is_refused(self, app: FakeJiraApp) -> None:
        async with make_client(app, auth=None) as anon:
            response = await anon.get("/rest/api/3/myself", headers={"Authorization": "Bearer abc"})
        assert response.status_code == 401

    async def test_server_info_is_anonymous_but_checks_given_credentials(
        self, app: FakeJiraApp
    ) -> None:
        async with make_client(app, auth=None) as anon:
            info = await anon.get("/rest/api/2/serverInfo")
        assert info.status_code == 200
        assert info.json()["deploymentType"] == "Cloud"
        assert info.json()["versionNumbers"] == [1001, 0, 0]
        async with make_client(app, auth=("admin@example.com", "bad")) as bad:
            assert (await bad.get("/rest/api/2/serverInfo")).status_code == 401

    async def test_configured_token_and_inactive_user(self, app: FakeJiraApp, site: Site) -> None:
        site.add_user("dev@example.com", "Dev", api_token="dev-token")
        site.add_user("old@example.com", "Old", api_token="old-token", active=False)
        async with make_client(app, auth=("DEV@example.com", "dev-token")) as dev:
            me = (await dev.get("/rest/api/3/myself")).json()
        assert me["displayName"] == "Dev" and me["emailAddress"] == "dev@example.com"
        async with make_client(app, auth=("old@example.com", "old-token")) as old:
            assert (await old.get("/rest/api/3/myself")).status_code == 401


class TestSites:
    async def test_host_selects_an_independent_site(
        self, app: FakeJiraApp, state: FakeJiraState
    ) -> None:
        async with (
            make_client(app, base_url="https://beta.atlassian.net") as beta,
            make_client(app) as acme,
            make_client(app, base_url="http://127.0.0.1:9") as local,
        ):
            body = {
                "fields": {
                    "project": {"key": "DEMO"},
                    "issuetype": {"id": "10001"},
                    "summary": "only on beta",
                }
            }
            assert (await beta.post("/rest/api/3/issue", json=body)).status_code == 201
            assert (await acme.get("/rest/api/3/issue/DEMO-1")).status_code == 404
            assert (await local.get("/rest/api/3/issue/DEMO-1")).status_code == 404
            info = (await beta.get("/rest/api/3/serverInfo")).json()
        assert info["baseUrl"] == "https://beta.atlassian.net"
        assert set(state.sites) == {"beta", "acme", "default"}
        assert state.site("beta.atlassian.net").issues_count() == 1
        assert FakeJiraState.site_name("beta.atlassian.net:443") == "beta"
        assert FakeJiraState.site_name("localhost:8081") == "default"


class TestMetadata:
    async def test_myself(self, client: httpx.AsyncClient) -> None:
        me = (await client.get("/rest/api/3/myself")).json()
        assert me["accountId"] == "5b10a2844c20165700ede21g"
        assert me["accountType"] == "atlassian" and me["active"] is True

    async def test_fields_include_system_and_custom(self, client: httpx.AsyncClient) -> None:
        fields = {f["id"]: f for f in (await client.get("/rest/api/3/field")).json()}
        assert fields["summary"]["schema"] == {"type": "string", "system": "summary"}
        assert fields["customfield_10020"]["name"] == "Sprint"
        assert fields["customfield_10020"]["schema"]["customId"] == 10020
        assert fields["customfield_10020"]["custom"] is True

    async def test_priorities_and_issue_types(self, client: httpx.AsyncClient) -> None:
        priorities = (await client.get("/rest/api/3/priority")).json()
        assert [(p["id"], p["name"]) for p in priorities] == [
            ("1", "Highest"),
            ("2", "High"),
            ("3", "Medium"),
            ("4", "Low"),
            ("5", "Lowest"),
        ]
        types = {t["name"]: t for t in (await client.get("/rest/api/3/issuetype")).json()}
        assert set(types) == {"Bug", "Task", "Story", "Epic", "Sub-task"}
        assert types["Sub-task"]["subtask"] is True and types["Bug"]["subtask"] is False

    async def test_project_search_pages_with_absolute_next_page(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        for n in range(7):
            site.add_project(f"P{n}", f"Project {n}")
        first = (
            await client.get(
                "/rest/api/3/project/search", params={"maxResults": 5, "expand": "issueTypes"}
            )
        ).json()
        assert (first["total"], first["startAt"], first["isLast"]) == (8, 0, False)
        assert len(first["values"]) == 5 and "issueTypes" in first["values"][0]
        assert first["nextPage"].startswith("https://acme.atlassian.net/rest/api/3/project/search?")
        second = (await client.get(first["nextPage"])).json()
        assert second["isLast"] is True and "nextPage" not in second
        assert len(second["values"]) == 3 and "issueTypes" in second["values"][0]
        keys = {p["key"] for p in first["values"] + second["values"]}
        assert keys == {"DEMO", *(f"P{n}" for n in range(7))}

    async def test_project_search_filters(self, client: httpx.AsyncClient, site: Site) -> None:
        site.add_project("OPS", "Operations")
        by_query = (
            await client.get("/rest/api/3/project/search", params={"query": "opera"})
        ).json()
        by_keys = (await client.get("/rest/api/3/project/search", params={"keys": "DEMO"})).json()
        assert [p["key"] for p in by_query["values"]] == ["OPS"]
        assert [p["key"] for p in by_keys["values"]] == ["DEMO"]

    async def test_project_by_key_or_id_and_404(self, client: httpx.AsyncClient) -> None:
        by_key = (await client.get("/rest/api/3/project/DEMO")).json()
        by_id = (await client.get(f"/rest/api/3/project/{by_key['id']}")).json()
        assert by_key == by_id
        assert {"issueTypes", "lead", "style", "simplified"} <= set(by_key)
        assert by_key["projectTypeKey"] == "software"
        missing = await client.get("/rest/api/3/project/NOPE")
        assert missing.status_code == 404 and missing.json()["errorMessages"]

    async def test_createmeta_issue_types(self, client: httpx.AsyncClient) -> None:
        data = (
            await client.get(
                "/rest/api/3/issue/createmeta/DEMO/issuetypes",
                params={"maxResults": 2, "startAt": 1},
            )
        ).json()
        assert (data["startAt"], data["maxResults"], data["total"]) == (1, 2, 5)
        assert len(data["issueTypes"]) == 2
        assert (await client.get("/rest/api/3/issue/createmeta/NOPE/issuetypes")).status_code == 404

    async def test_assignable_users(self, client: httpx.AsyncClient, site: Site) -> None:
        site.add_user("zoe.muller@example.com", "Zoë Müller")
        site.add_user("zed@example.com", "Zed Inactive", active=False)
        everyone = (
            await client.get("/rest/api/3/user/assignable/search", params={"project": "DEMO"})
        ).json()
        assert isinstance(everyone, list)
        assert {u["displayName"] for u in everyone} == {"Site Admin", "Zoë Müller"}
        found = (
            await client.get(
                "/rest/api/3/user/assignable/search", params={"project": "DEMO", "query": "MÜLL"}
            )
        ).json()
        assert [u["displayName"] for u in found] == ["Zoë Müller"]
        paged = (
            await client.get(
                "/rest/api/3/user/assignable/search",
                params={"project": "DEMO", "startAt": 1, "maxResults": 1},
            )
        ).json()
        assert len(paged) == 1
        assert (await client.get("/rest/api/3/user/assignable/search")).status_code == 400
        assert (
            await client.get("/rest/api/3/user/assignable/search", params={"project": "NOPE"})
        ).status_code == 404


class TestRemovedAndUnknown:
    @pytest.mark.parametrize("method", ["GET", "POST"])
    @pytest.mark.parametrize("version", [2, 3])
    async def test_old_search_is_gone(
        self, client: httpx.AsyncClient, method: str, version: int
    ) -> None:
        response = await client.request(
            method, f"/rest/api/{version}/search", params={"jql": "project = DEMO"}
        )
        assert response.status_code == 410
        assert response.json()["errorMessages"][0].startswith(
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql"
        )

    async def test_unknown_path_and_method(self, client: httpx.AsyncClient) -> None:
        missing = await client.get("/rest/api/3/nothing/here")
        assert missing.status_code == 404
        assert missing.json()["errorMessages"] == [
            "null for uri: https://acme.atlassian.net/rest/api/3/nothing/here"
        ]
        wrong = await client.patch("/rest/api/3/myself")
        assert wrong.status_code == 405 and wrong.json()["errorMessages"]
