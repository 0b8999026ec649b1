"""Jira request bodies: the pure builders, and every body our writes send, checked against
Atlassian's OpenAPI request schemas."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest

from tests.contract.openapi import validate_request
from tests.fixtures.store import stored
from tests.fixtures.tenants import Tenant, cid
from tests.fixtures.tickets import account_of, created, update
from ticketbridge.connectors.base import CreateSpec, UpdateSpec
from ticketbridge.connectors.jira.adf import markdown_to_adf
from ticketbridge.connectors.jira.config import JiraOptions
from ticketbridge.connectors.jira.markers import (
    identifier_from,
    is_marker_label,
    marker_label,
    visible_tags,
)
from ticketbridge.connectors.jira.payloads import (
    build_create_payload,
    build_edit_payload,
    priority_name,
)
from ticketbridge.errors import Unprocessable
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Connection
from ticketbridge.tickets.identifiers import mark_unjournaled

OPTIONS = JiraOptions()
ISSUE = "/rest/api/3/issue"
ISSUE_KEY = "/rest/api/3/issue/{issueIdOrKey}"

FULL = CreateSpec(
    project="ENG",
    issue_type_id="10002",
    name="Rotate keys",
    description="Rotate **all** keys",
    status="IN_PROGRESS",
    priority="HIGH",
    assignee="acc-1",
    parent="ENG-7",
    tags=("sec", "sec", "q3"),
    due_date=date(2030, 2, 3),
    custom_fields={"customfield_10030": "REF"},
    identifier="SEC-1",
    marker="tb-0123456789abcdef",
)


class TestCreatePayload:
    def test_every_field(self) -> None:
        payload = build_create_payload(FULL, OPTIONS)
        assert payload == {
            "fields": {
                "project": {"key": "ENG"},
                "issuetype": {"id": "10002"},
                "summary": "Rotate keys",
                "description": markdown_to_adf("Rotate **all** keys"),
                "priority": {"name": "High"},
                "assignee": {"accountId": "acc-1"},
                "parent": {"key": "ENG-7"},
                "labels": ["sec", "q3", "tb-0123456789abcdef"],
                "duedate": "2030-02-03",
                "customfield_10030": "REF",
            },
            "properties": [{"key": "ticketbridge", "value": {"identifier": "SEC-1"}}],
        }
        assert validate_request(ISSUE, "post", payload) == "IssueUpdateDetails"

    def test_minimal_with_numeric_ids(self) -> None:
        spec = CreateSpec(project="10000", issue_type_id="10001", name="x", parent="10042")
        payload = build_create_payload(spec, OPTIONS)
        assert payload == {
            "fields": {
                "project": {"id": "10000"},
                "issuetype": {"id": "10001"},
                "summary": "x",
                "parent": {"id": "10042"},
            }
        }
        assert validate_request(ISSUE, "post", payload) == "IssueUpdateDetails"
        assert validate_request("/rest/api/3/issue/bulk", "post", {"issueUpdates": [payload]})


class TestEditPayload:
    def test_every_field(self) -> None:
        spec = UpdateSpec(
            name="New",
            description=None,
            status="CLOSED",
            priority="INFORMATIONAL",
            assignee=None,
            due_date=None,
            tags=("a",),
            custom_fields={"customfield_10016": 3},
        )
        payload = build_edit_payload(spec, OPTIONS, current_labels=["old", "tb-0123456789abcdef"])
        assert payload == {
            "fields": {
                "summary": "New",
                "description": None,
                "priority": {"name": "Lowest"},
                "assignee": None,
                "duedate": None,
                "labels": ["a", "tb-0123456789abcdef"],
                "customfield_10016": 3,
            }
        }
        assert validate_request(ISSUE_KEY, "put", payload) == "IssueUpdateDetails"

    def test_status_alone_needs_no_edit(self) -> None:
        assert build_edit_payload(UpdateSpec(status="CLOSED"), OPTIONS) is None

    def test_unsent_fields_are_absent(self) -> None:
        payload = build_edit_payload(UpdateSpec(assignee="acc-2"), OPTIONS)
        assert payload == {"fields": {"assignee": {"accountId": "acc-2"}}}


class TestPriorityNames:
    @pytest.mark.parametrize(
        ("normalized", "jira"),
        [
            ("CRITICAL", "Highest"),
            ("HIGH", "High"),
            ("MEDIUM", "Medium"),
            ("LOW", "Low"),
            ("INFORMATIONAL", "Lowest"),
        ],
    )
    def test_defaults(self, normalized: str, jira: str) -> None:
        assert priority_name(normalized, OPTIONS) == jira

    def test_the_connections_mapping_is_read_backwards_first(self) -> None:
        options = JiraOptions(priority_mapping={"P1": "CRITICAL", "Blocker": "CRITICAL"})
        assert priority_name("CRITICAL", options) == "P1"
        assert priority_name("LOW", options) == "Low"

    def test_unknown_is_unprocessable(self) -> None:
        with pytest.raises(Unprocessable):
            priority_name("UNKNOWN", OPTIONS)


class TestMarkers:
    def test_marker_is_stable_and_scoped_to_the_connection(self) -> None:
        a = marker_label("conn-a", "ID-1")
        assert a == marker_label("conn-a", "ID-1")
        assert a != marker_label("conn-b", "ID-1")
        assert a != marker_label("conn-a", "ID-2")
        assert is_marker_label(a)

    @pytest.mark.parametrize(
        "label", ["tb-", "tb-xyz", "tb-0123456789ABCDEF", "tbx0123456789abcdef"]
    )
    def test_other_labels_are_not_markers(self, label: str) -> None:
        assert not is_marker_label(label)

    def test_visible_tags_hide_markers_only(self) -> None:
        assert visible_tags(["a", "tb-0123456789abcdef", "tb-team"]) == ("a", "tb-team")

    def test_fixed_marker_value(self) -> None:
        # JQL finds an identifier's issues by this value: it must never change.
        assert marker_label("conn-a", "ID-1") == "tb-eaebef85e5cdc1a5"

    def test_the_identifier_is_read_back_only_with_this_connections_marker(self) -> None:
        prop = {"identifier": "EXT-1"}
        mine = ["x", marker_label("conn-a", "EXT-1")]
        assert identifier_from("conn-a", prop, mine) == "EXT-1"
        assert identifier_from("conn-b", prop, mine) is None  # another connection's issue
        assert identifier_from("conn-a", prop, ["x"]) is None  # property without the marker
        assert identifier_from("conn-a", None, mine) is None  # created outside ticketbridge
        assert identifier_from("", prop, mine) is None
        assert identifier_from("conn-a", {"identifier": 7}, mine) is None


class TestRequestsSentToJira:
    """A real-client check: capture every JSON body the connector sends during a create and
    an update, and validate it against the OpenAPI request schema of its route."""

    async def test_every_body_matches_the_openapi_document(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        sent: list[tuple[str, str, Any]] = []

        async def capture(request: httpx.Request) -> None:
            if request.content:
                sent.append((request.method, request.url.path, json.loads(request.content)))

        runtime.http.event_hooks = {"request": [capture], "response": []}
        parent = await created(client, tenant, name="Parent", identifier="P-1")
        child = await created(
            client,
            tenant,
            type="Sub-task",
            parent_ticket_vendor_id=parent["vendor_attributes"]["data"]["key"],
            status="IN_PROGRESS",
            description="Some *text*",
            priority="LOW",
            tags=["x"],
            due_date="2030-01-01",
            assigned_user_vendor_id=account_of(ops_site, "dev@example.com"),
            custom_fields={"customfield_10030": "R"},
        )
        response = await update(
            client, tenant, child["id"], status="CLOSED", tags=["y"], assigned_user_id=None
        )
        assert response.status_code == 200
        routes = [(method, _template(path)) for method, path, _ in sent]
        # No search for the parent's identifier P-1: on a connection whose identifiers all
        # went through reservations, the store answers (tickets/identifiers.py).
        assert routes == [
            ("POST", ISSUE),  # parent
            ("POST", ISSUE),  # child
            ("POST", ISSUE_KEY + "/transitions"),  # child -> In Progress
            ("PUT", ISSUE_KEY),  # tags, assignee
            ("POST", ISSUE_KEY + "/transitions"),  # child -> Done
        ]
        schemas = {
            validate_request(t, m, body) for (m, t), (_, _, body) in zip(routes, sent, strict=True)
        }
        # transitions take the same schema as creates and edits
        assert schemas == {"IssueUpdateDetails"}

    async def test_the_marker_search_matches_the_openapi_document(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        searches: list[Any] = []

        async def capture(request: httpx.Request) -> None:
            if request.url.path.endswith("/search/jql"):
                searches.append(json.loads(request.content))

        runtime.http.event_hooks = {"request": [capture], "response": []}
        ops_site.faults.configure(
            {"ambiguous": {"share": 1.0, "mode": "5xx", "count": 1, "routes": [f"POST {ISSUE}"]}}
        )
        async with runtime.session() as s:  # as after a bulk create: the store cannot vouch
            [conn] = await stored(runtime, Connection, id=cid(tenant))
            await mark_unjournaled(s, conn)
        ticket = await created(client, tenant, identifier="SEARCHED")
        check, body = searches  # the identifier's uniqueness check, then the reconciliation
        marker = marker_label(tenant.connection_id or "", "SEARCHED")
        assert check["jql"] == f'labels = "{marker}" ORDER BY created ASC'
        assert body["jql"] == f'project = "DEMO" AND labels = "{marker}" ORDER BY created ASC'
        assert (
            validate_request("/rest/api/3/search/jql", "post", body)
            == "SearchAndReconcileRequestBean"
        )
        assert ticket["identifier"] == "SEARCHED"


SEARCH_PATH = "/rest/api/3/search/jql"


def _template(path: str) -> str:
    parts = path.split("/")
    if len(parts) > 5 and parts[4] == "issue":  # /rest/api/3/issue/{key}[/transitions]
        parts[5] = "{issueIdOrKey}"
    return "/".join(parts)
