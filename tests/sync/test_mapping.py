"""The pure Jira -> normalized mapping and the JQL the sync sends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from ticketbridge.connectors.jira.config import JiraOptions
from ticketbridge.connectors.jira.jql import quote, scope_jql, updated_since_jql
from ticketbridge.connectors.jira.mapping import (
    issue_from_jira,
    map_priority,
    map_status,
    parse_jira_time,
    user_from_jira,
)
from ticketbridge.fakejira.jql import compile_jql
from ticketbridge.fakejira.jql_parser import parse

DEFAULTS = JiraOptions()
BASE = "https://acme.atlassian.net"


def status(name: str, category: str) -> dict[str, Any]:
    return {"name": name, "statusCategory": {"key": category}}


def issue(**fields: Any) -> dict[str, Any]:
    return {"id": "10001", "key": "ENG-1", "fields": {"summary": "s", **fields}}


class TestStatusMapping:
    @pytest.mark.parametrize(
        "name,category,expected",
        [
            ("To Do", "new", "TODO"),
            ("In Progress", "indeterminate", "IN_PROGRESS"),
            ("Done", "done", "CLOSED"),
            ("in progress", "indeterminate", "IN_PROGRESS"),  # names match case-insensitively
            ("Backlog", "new", "TODO"),  # unknown names fall back to the category
            ("In Review", "indeterminate", "IN_REVIEW"),
            ("Open", "new", "OPEN"),
            ("Reopened", "new", "OPEN"),
            ("Resolved", "done", "RESOLVED"),
            ("Closed", "done", "CLOSED"),
            ("Code Review", "indeterminate", "IN_PROGRESS"),
            ("Won't Fix", "done", "CLOSED"),
            ("Odd", "undefined", "TODO"),
            (None, None, "TODO"),
        ],
    )
    def test_defaults(self, name: str | None, category: str | None, expected: str) -> None:
        assert map_status(name, category, DEFAULTS) == expected

    def test_the_connection_mapping_wins(self) -> None:
        options = JiraOptions(status_mapping={"In Review": "IN_REVIEW", "Done": "RESOLVED"})
        assert map_status("In Review", "indeterminate", options) == "IN_REVIEW"
        assert map_status("Done", "done", options) == "RESOLVED"
        assert map_status("To Do", "new", options) == "TODO"


class TestPriorityMapping:
    @pytest.mark.parametrize(
        "name,expected",
        [
            ("Highest", "CRITICAL"),
            ("High", "HIGH"),
            ("Medium", "MEDIUM"),
            ("Low", "LOW"),
            ("Lowest", "INFORMATIONAL"),
            ("Blocker", "UNKNOWN"),
            (None, "UNKNOWN"),
        ],
    )
    def test_defaults(self, name: str | None, expected: str) -> None:
        assert map_priority(name, DEFAULTS) == expected

    def test_the_connection_mapping_wins(self) -> None:
        options = JiraOptions(priority_mapping={"Blocker": "CRITICAL", "Highest": "HIGH"})
        assert map_priority("Blocker", options) == "CRITICAL"
        assert map_priority("Highest", options) == "HIGH"


class TestIssueMapping:
    def test_times_and_closed_at(self) -> None:
        done = issue_from_jira(
            issue(
                status=status("Done", "done"),
                created="2024-01-31T12:34:56.789+0000",
                updated="2024-02-01T00:00:00.000+0100",
                resolutiondate="2024-01-31T13:00:00.000+0000",
                duedate="2024-03-01",
            ),
            base_url=BASE,
            options=DEFAULTS,
        )
        assert done.ticket_created_at == datetime(2024, 1, 31, 12, 34, 56, 789000, tzinfo=UTC)
        assert done.vendor_updated_at == datetime(2024, 1, 31, 23, 0, tzinfo=UTC)
        # No statuscategorychangedate: the status time falls back to `updated`.
        assert done.status_updated_at == done.vendor_updated_at
        assert done.closed_at == datetime(2024, 1, 31, 13, 0, tzinfo=UTC)
        assert done.due_date == date(2024, 3, 1)
        reopened = issue_from_jira(
            issue(
                status=status("To Do", "new"),
                resolutiondate="2024-01-31T13:00:00.000+0000",
            ),
            base_url=BASE,
            options=DEFAULTS,
        )
        assert reopened.closed_at is None  # a resolution date outside done does not close

    def test_links_people_and_custom_fields(self) -> None:
        raw = issue(
            issuetype={"id": "10002", "name": "Sub-task"},
            project={"id": "10000", "key": "ENG"},
            parent={"id": "10000", "key": "ENG-0"},
            assignee={
                "accountId": "a1",
                "displayName": "Zoë",
                "emailAddress": "",
                "active": False,
                "accountType": "atlassian",
            },
            reporter={"accountId": "r1", "displayName": "Rob", "active": True},
            labels=["x", "überprüfung"],
            customfield_10016=5,
            customfield_10020=None,
            customfield_10030="CUST-1",
        )
        mapped = issue_from_jira(raw, base_url=BASE + "/", options=DEFAULTS)
        assert (mapped.type, mapped.type_vendor_id) == ("Sub-task", "10002")
        assert (mapped.project_vendor_id, mapped.project_vendor_numeric_id) == ("ENG", "10000")
        assert (mapped.assigned_user_vendor_id, mapped.created_by_vendor_id) == ("a1", "r1")
        assert mapped.parent_ticket_vendor_id == "ENG-0"
        assert mapped.url == "https://acme.atlassian.net/browse/ENG-1"
        assert mapped.tags == ("x", "überprüfung")
        assert mapped.custom_fields == {"customfield_10016": 5, "customfield_10030": "CUST-1"}
        assert [(p.vendor_id, p.status, p.email) for p in mapped.people] == [
            ("a1", "INACTIVE", None),
            ("r1", "ACTIVE", None),
        ]

    def test_an_empty_issue_maps_to_sensible_nulls(self) -> None:
        mapped = issue_from_jira(
            {"id": "7", "key": "X-7", "fields": {}}, base_url=BASE, options=DEFAULTS
        )
        assert (mapped.name, mapped.description, mapped.status, mapped.priority) == (
            "",
            None,
            "TODO",
            "UNKNOWN",
        )
        assert mapped.people == () and mapped.tags == ()

    def test_rich_descriptions_become_markdown(self) -> None:
        adf = {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "heading",
                    "attrs": {"level": 2},
                    "content": [{"type": "text", "text": "Context"}],
                },
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "text", "text": "see "},
                        {
                            "type": "text",
                            "text": "docs",
                            "marks": [{"type": "link", "attrs": {"href": "https://x.org"}}],
                        },
                    ],
                },
            ],
        }
        mapped = issue_from_jira(issue(description=adf), base_url=BASE, options=DEFAULTS)
        assert mapped.description == "## Context\n\nsee [docs](https://x.org)"

    @pytest.mark.parametrize(
        "text,expected",
        [
            ("2024-01-31T12:34:56.789+0000", datetime(2024, 1, 31, 12, 34, 56, 789000, tzinfo=UTC)),
            ("2024-01-31T12:34:56Z", datetime(2024, 1, 31, 12, 34, 56, tzinfo=UTC)),
            ("2024-01-31T12:34:56.000-0500", datetime(2024, 1, 31, 17, 34, 56, tzinfo=UTC)),
            ("garbage", None),
            (None, None),
        ],
    )
    def test_jira_times(self, text: str | None, expected: datetime | None) -> None:
        assert parse_jira_time(text) == expected

    def test_users(self) -> None:
        user = user_from_jira(
            {
                "accountId": "5b1",
                "displayName": "A",
                "active": True,
                "emailAddress": "a@x.org",
                "accountType": "app",
            }
        )
        assert (user.vendor_id, user.name, user.email, user.status, user.account_type) == (
            "5b1",
            "A",
            "a@x.org",
            "ACTIVE",
            "app",
        )


class TestJql:
    def test_incremental_query(self) -> None:
        assert updated_since_jql(["ENG", "OPS"], 1_700_000_000_123) == (
            'project in ("ENG", "OPS") AND updated >= 1700000000123 ORDER BY updated ASC, key ASC'
        )
        assert updated_since_jql(None, -5) == "updated >= 0 ORDER BY updated ASC, key ASC"

    def test_scope_query(self) -> None:
        assert scope_jql(None) == "updated >= 0 ORDER BY key ASC"
        assert scope_jql(["A"]) == 'project in ("A") ORDER BY key ASC'

    @pytest.mark.parametrize("value", ['ab"c', "back\\slash", "new\nline", "ORDER", "a,b)"])
    def test_values_are_quoted_and_escaped(self, value: str) -> None:
        jql = updated_since_jql([value, "OPS"], 1000)
        # The emulator's JQL parser reads the values back intact: nothing was injected.
        tree = parse(jql)
        project, since = tree.where.children  # type: ignore[union-attr]
        assert [item.text for item in project.operand.items] == [value, "OPS"]
        assert (since.field, since.op, since.operand.text) == ("updated", ">=", "1000")
        assert [k.field for k in tree.order_by] == ["updated", "key"]
        assert compile_jql(jql).has_where
        assert quote(value).startswith('"') and quote(value).endswith('"')


class TestStoredVendorAttributes:
    @pytest.mark.parametrize(
        "fields",
        [
            {},
            {
                "issuetype": {"id": "10001", "name": "Task"},
                "status": status("In Review", "indeterminate"),
                "priority": {"name": "High"},
                "created": "2024-01-31T12:34:56.789+0000",
                "updated": "2024-02-01T08:00:00.000+0000",
                "customfield_10010": {"value": "Gold", "id": "1"},
                "customfield_10020": [1, 2.5, "x", None, {"a": [True]}],
            },
        ],
    )
    def test_the_fast_form_is_the_model_form(self, fields: dict[str, Any]) -> None:
        from ticketbridge.tickets.schemas import VendorAttributes

        normalized = issue_from_jira(issue(**fields), base_url=BASE, options=DEFAULTS)
        for vendor in ("JIRA", "OTHER"):
            assert VendorAttributes.stored_from_issue(normalized, vendor) == (
                VendorAttributes.from_issue(normalized, vendor).stored()
            )
