from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketbridge.fakejira.jql import CompiledJql, JqlContext, JqlError, compile_jql
from ticketbridge.fakejira.search import SearchEngine

NOW = datetime(2024, 3, 15, 12, 30, tzinfo=UTC)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


NOW_MS = ms("2024-03-15T12:30")
CTX = JqlContext(now_ms=NOW_MS, current_account_id="acc-me")
STATUSES = {
    "To Do": ("10000", 2, "new"),
    "In Progress": ("10001", 4, "indeterminate"),
    "Done": ("10002", 3, "done"),
}


def make_doc(n: int, **fields: Any) -> dict[str, Any]:
    """A search document for issue number ``n`` (id 10000 + n) with Jira-like defaults."""
    project = fields.pop("project", "PROJ")
    status = fields.pop("status", "To Do")
    status_id, cat_id, cat_key = STATUSES[status]
    cat_name = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[cat_key]
    doc: dict[str, Any] = {
        "id": 10000 + n,
        "key": f"{project}-{n}",
        "project": {"id": "100" + str(len(project)), "key": project, "name": f"{project} Name"},
        "issuetype": {"id": "10001", "name": "Bug"},
        "status": {"id": status_id, "name": status},
        "statusCategory": {"id": cat_id, "key": cat_key, "name": cat_name},
        "resolution": None,
        "priority": {"id": "3", "name": "Medium"},
        "assignee": None,
        "reporter": "acc-rep",
        "labels": [],
        "parent": None,
        "summary": f"Issue {n}",
        "description_text": "",
        "created": ms("2024-03-01T00:00") + n * 60_000,
        "updated": ms("2024-03-10T00:00") + n * 60_000,
        "duedate": None,
    }
    doc.update(fields)
    return doc


def keys(jql: str, docs: Iterable[dict[str, Any]], ctx: JqlContext = CTX) -> list[str]:
    c = compile_jql(jql)
    return [d["key"] for d in sorted((d for d in docs if c.matches(d, ctx)), key=c.sort_key)]


def ok(jql: str, doc: dict[str, Any], ctx: JqlContext = CTX) -> bool:
    return compile_jql(jql).matches(doc, ctx)


def error(jql: str) -> str:
    with pytest.raises(JqlError) as info:
        compile_jql(jql)
    return str(info.value)


class TestInterface:
    def test_blank_query_matches_everything_newest_first(self) -> None:
        docs = [make_doc(1), make_doc(2), make_doc(3)]
        c = compile_jql("   ")
        assert (c.has_where, c.order_by) == (False, ())
        assert keys("", docs) == ["PROJ-3", "PROJ-2", "PROJ-1"]

    def test_order_by_only_has_no_where(self) -> None:
        c = compile_jql("ORDER BY createdDate DESC, issuekey")
        assert (c.has_where, c.order_by) == (False, (("created", True), ("key", False)))

    def test_compiled_queries_are_cached(self) -> None:
        assert compile_jql("project = PROJ") is compile_jql("project = PROJ")

    def test_predicate_is_matches_bound_to_context(self) -> None:
        c = compile_jql("assignee = currentUser()")
        mine, other = make_doc(1, assignee="acc-me"), make_doc(2, assignee="acc-x")
        assert [c.predicate(CTX)(d) for d in (mine, other)] == [True, False]
        ctx2 = JqlContext(now_ms=NOW_MS, current_account_id="acc-x")
        assert [c.matches(d, ctx2) for d in (mine, other)] == [False, True]
        assert c.matches(mine, CTX)


class TestCombinators:
    DOCS = [
        make_doc(1, labels=["x"]),
        make_doc(2, status="Done"),
        make_doc(3, labels=["x"], status="Done"),
    ]

    @pytest.mark.parametrize(
        ("jql", "expected"),
        [
            ("labels = x AND status = Done", ["PROJ-3"]),
            ("labels = x && status = Done", ["PROJ-3"]),
            ("labels = x & status = Done", ["PROJ-3"]),
            ("labels = x OR status = Done", ["PROJ-3", "PROJ-2", "PROJ-1"]),
            ("labels = x || status = Done", ["PROJ-3", "PROJ-2", "PROJ-1"]),
            ("NOT labels = x", ["PROJ-2"]),
            ("! labels = x", ["PROJ-2"]),
            ("not not labels = x", ["PROJ-3", "PROJ-1"]),
            # NOT binds tighter than AND, AND tighter than OR.
            ("NOT labels = x AND status = Done", ["PROJ-2"]),
            ("key = PROJ-1 OR labels = x AND status = Done", ["PROJ-3", "PROJ-1"]),
            ("(key = PROJ-1 OR labels = x) AND status = Done", ["PROJ-3"]),
            ("status = Done AND key = PROJ-2 OR key = PROJ-1", ["PROJ-2", "PROJ-1"]),
            ("NOT (labels = x AND status = Done)", ["PROJ-2", "PROJ-1"]),
            ("sTaTuS = done aNd LABELS = X oRdEr By KeY aSc", ["PROJ-3"]),
        ],
    )
    def test_combinators(self, jql: str, expected: list[str]) -> None:
        assert keys(jql, self.DOCS) == expected


class TestSyntaxErrors:
    @pytest.mark.parametrize(
        ("jql", "message"),
        [
            ("status Done", "Expecting operator but got 'Done'. The valid operators are"),
            ("status", "Expecting operator before the end of the query."),
            ("status =", "Expecting either a value, list or function before the end"),
            ("status = OR", "You must surround 'OR' in quotation marks to use it as a value."),
            ("status = Done Done", "but got 'Done'. (line 1, character 15)"),
            ("status = x AND\n  foo bar", "got 'bar'. The valid operators are"),
            ("(status = Done", "Expecting either 'OR', 'AND' or ')' before the end"),
            ("status = Done)", "Expecting either 'OR' or 'AND' but got ')'"),
            ("status in (a1, )", "Expecting either a value, list or function but got ')'"),
            ('summary ~ "open', "The quoted string 'open' has not been completed."),
            ("assignee = me@x", "The character '@' is a reserved JQL character."),
            ("project = SET", "'SET' is a reserved JQL word."),
            ("status = Done ORDER created", "Expecting 'BY' but got 'created'"),
            ("ORDER BY created up", "but got 'up'"),
            ('summary ~ "a\\qb"', "The escape sequence '\\q' is illegal."),
        ],
    )
    def test_syntax_error_message(self, jql: str, message: str) -> None:
        text = error(jql)
        assert text.startswith("Error in the JQL Query: ")
        assert message in text

    def test_position_is_line_and_character(self) -> None:
        assert error("status = x AND\n  foo bar").endswith("(line 2, character 7)")


class TestSemanticErrors:
    @pytest.mark.parametrize(
        ("jql", "message"),
        [
            ("xyz = 1", "Field 'xyz' does not exist or you do not have permission to view it."),
            ("ORDER BY nope", "Field 'nope' does not exist or you do not have permission"),
            ("ORDER BY text", "Field 'text' does not support sorting."),
            ("assignee = whoami()", "Unable to find JQL function 'whoami()'."),
            ("status = currentUser()", "A value provided by the function 'currentUser' is"),
            ("assignee = currentUser(1)", "Function 'currentUser' expected '0' arguments"),
            ("created > startOfDay(1, 2)", "expected between '0' and '1' arguments but received"),
            ("due < nextWeek(1, 'a b')", "Unable to find JQL function 'nextWeek(1, a b)'."),
            ("created > startOfDay(soon)", "received an invalid increment 'soon'"),
            ("summary = x", "The operator '=' is not supported by the 'summary' field."),
            ("project ~ x", "The operator '~' is not supported by the 'project' field."),
            ("status > x", "The operator '>' is not supported by the 'status' field."),
            ("status in Done", "Operator 'in' does not support the non-list value '\"Done\"' for"),
            ("status in 10000", "Operator 'in' does not support the non-list value '10000' for"),
            ("assignee not in currentUser()", "non-list value 'currentUser()' for field"),
            ("summary in x", "Operator 'in' does not support the non-list value '\"x\"'"),
            (
                "status = (x, 'y z', 3)",
                "Operator '=' does not support the list value "
                "'(\"x\", \"y z\", 3)' for field 'status'.",
            ),  # fmt: skip
            ("status is Done", "Operator 'is' does not support searching for non-empty values"),
            ("status is not (x)", "Operator 'is not' does not support searching for non-empty"),
            ("labels in EMPTY", "Operator 'in' does not support the empty value representation"),
            ("key = nonsense", "The issue key 'nonsense' for field 'key' is invalid."),
            ("summary ~ ''", "The field 'summary' does not support searching for an empty"),
            ("summary ~ '*in'", "is not allowed to start with a wildcard"),
            (
                "created > EMPTY",
                "Operator '>' does not support the empty value representation "
                "'EMPTY' for field 'created'.",
            ),  # fmt: skip
        ],
    )
    def test_semantic_error_message(self, jql: str, message: str) -> None:
        assert message in error(jql)

    @pytest.mark.parametrize("value", ["xyz", "'2024/13/01'", "'2024-02-30 10:00'", "'-5x'"])
    def test_bad_date_message(self, value: str) -> None:
        shown = value.strip("'")
        assert error(f"updated >= {value}") == (
            f"Date value '{shown}' for field 'updated' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'."
        )


class TestReferenceFields:
    DOC = make_doc(
        7,
        project="ABC",
        status="In Progress",
        issuetype={"id": "10002", "name": "Story"},
        priority={"id": "2", "name": "High"},
        parent={"id": "10040", "key": "ABC-1"},
    )

    @pytest.mark.parametrize(
        "jql",
        [
            "project = ABC", "project = abc", "project = 1003", 'project = "abc name"',
            "project in (X, ABC)", "project != X", "project not in (X, Y)",
            "key = ABC-7", "issuekey = abc-7", "id = 10007", "issue in (10007, X-1)",
            "key != ABC-8", "key > ABC-6", "key >= ABC-7", "key < ABC-10", "id <= 10007",
            "status = 'In Progress'", "status = 'in progress'", "status = 10001",
            "statusCategory = indeterminate", "statusCategory = 'In Progress'",
            "statusCategory = 4", "statusCategory != Done",
            "issuetype = story", "type = 10002", "type not in (Bug, Epic)",
            "priority = High", "priority = 2", "priority in (Highest, high)",
            "parent = ABC-1", "parent = 10040", "parent in (abc-1)", "parent is not EMPTY",
        ],
    )  # fmt: skip
    def test_matches(self, jql: str) -> None:
        assert ok(jql, self.DOC)

    @pytest.mark.parametrize(
        "jql",
        [
            "project = X", "project != ABC", "project not in (abc)", "project is EMPTY",
            "key = ABC-70", "key != ABC-7", "key > ABC-7", "key < ABC-7", "key > XYZ-1",
            "id > 10007", "status = Done", "status in (Done, 'To Do')",
            "statusCategory = new", "type = Bug", "priority = Medium", "priority is EMPTY",
            "parent = ABC-2", "parent is EMPTY",
        ],
    )  # fmt: skip
    def test_does_not_match(self, jql: str) -> None:
        assert not ok(jql, self.DOC)

    def test_key_comparison_is_numeric_within_the_project(self) -> None:
        docs = [make_doc(n) for n in (2, 9, 10, 11)] + [make_doc(50, project="ZZZ")]
        assert keys("key > PROJ-9 ORDER BY key", docs) == ["PROJ-10", "PROJ-11"]
        assert keys("key <= PROJ-9 ORDER BY key", docs) == ["PROJ-2", "PROJ-9"]

    def test_empty_priority_and_parent_are_excluded_by_negations(self) -> None:
        doc = make_doc(1, priority=None)
        assert not ok("priority != High", doc) and not ok("priority not in (High)", doc)
        assert not ok("parent != X-1", doc)
        assert ok("priority is EMPTY", doc) and ok("priority = EMPTY", doc)


class TestResolution:
    OPEN = make_doc(1)
    DONE = make_doc(2, status="Done", resolution={"id": "10000", "name": "Done"})
    WONT = make_doc(3, status="Done", resolution={"id": "10001", "name": "Won't Do"})
    DOCS = [OPEN, DONE, WONT]

    @pytest.mark.parametrize(
        ("jql", "expected"),
        [
            ("resolution = Unresolved", ["PROJ-1"]),
            ("resolution = unresolved", ["PROJ-1"]),
            ("resolution is EMPTY", ["PROJ-1"]),
            ("resolution = EMPTY", ["PROJ-1"]),
            ("resolution is null", ["PROJ-1"]),
            ("resolution != Unresolved", ["PROJ-3", "PROJ-2"]),
            ("resolution is not EMPTY", ["PROJ-3", "PROJ-2"]),
            ("resolution = Done", ["PROJ-2"]),
            ("resolution = 10001", ["PROJ-3"]),
            ('resolution = "won\'t do"', ["PROJ-3"]),
            ("resolution != Done", ["PROJ-3"]),
            ("resolution in (Unresolved, Done)", ["PROJ-2", "PROJ-1"]),
            ("resolution not in (Done)", ["PROJ-3"]),
        ],
    )
    def test_resolution(self, jql: str, expected: list[str]) -> None:
        assert keys(jql, self.DOCS) == expected


class TestUsers:
    DOCS = [
        make_doc(1, assignee="acc-me"),
        make_doc(2, assignee="acc-x", reporter="acc-me"),
        make_doc(3, assignee=None, reporter=None),
    ]

    @pytest.mark.parametrize(
        ("jql", "expected"),
        [
            ("assignee = acc-me", ["PROJ-1"]),
            ("assignee = ACC-ME", []),  # account ids are exact
            ("assignee = currentUser()", ["PROJ-1"]),
            ("assignee = CURRENTUSER()", ["PROJ-1"]),
            ("reporter = currentUser()", ["PROJ-2"]),
            ("assignee != acc-me", ["PROJ-2"]),  # unassigned issues are not "!= x"
            ("assignee != currentUser()", ["PROJ-2"]),
            ("assignee not in (acc-x)", ["PROJ-1"]),
            ("NOT assignee = acc-me", ["PROJ-3", "PROJ-2"]),  # plain negation keeps them
            ("assignee is EMPTY", ["PROJ-3"]),
            ("assignee = null", ["PROJ-3"]),
            ("assignee != EMPTY", ["PROJ-2", "PROJ-1"]),
            ("assignee in (EMPTY, acc-x)", ["PROJ-3", "PROJ-2"]),
            ("assignee in (currentUser(), 'acc-x')", ["PROJ-2", "PROJ-1"]),
            ("reporter is not EMPTY", ["PROJ-2", "PROJ-1"]),
        ],
    )
    def test_users(self, jql: str, expected: list[str]) -> None:
        assert keys(jql, self.DOCS) == expected

    def test_anonymous_current_user_matches_nobody(self) -> None:
        anon = JqlContext(now_ms=NOW_MS, current_account_id=None)
        assert keys("assignee = currentUser()", self.DOCS, anon) == []
        assert keys("assignee != currentUser()", self.DOCS, anon) == ["PROJ-2", "PROJ-1"]


class TestLabels:
    DOCS = [
        make_doc(1, labels=["Backend", "urgent"]),
        make_doc(2, labels=["frontend"]),
        make_doc(3, labels=[]),
    ]

    @pytest.mark.parametrize(
        ("jql", "expected"),
        [
            ("labels = backend", ["PROJ-1"]),
            ("labels = urgent", ["PROJ-1"]),
            ("labels != urgent", ["PROJ-2"]),  # no labels at all is not "!= urgent"
            ("labels in (urgent, frontend)", ["PROJ-2", "PROJ-1"]),
            ("labels not in (urgent, nothing)", ["PROJ-2"]),
            ("labels is EMPTY", ["PROJ-3"]),
            ("labels is not EMPTY", ["PROJ-2", "PROJ-1"]),
            ("labels in (EMPTY, frontend)", ["PROJ-3", "PROJ-2"]),
            ("NOT labels = urgent", ["PROJ-3", "PROJ-2"]),
        ],
    )
    def test_labels(self, jql: str, expected: list[str]) -> None:
        assert keys(jql, self.DOCS) == expected


class TestTextSearch:
    DOC = make_doc(
        1,
        summary="Login page crashes on Safari",
        description_text="Steps: open the login-form, press Submit.\nThe browser freezes.",
    )

    @pytest.mark.parametrize(
        "jql",
        [
            "summary ~ login", "summary ~ LOGIN", "summary !~ EMPTY", 'summary ~ "crashes login"',
            'summary ~ "log*"', "summary ~ 'saf* page'", 'summary ~ "\\"page crashes\\""',
            'summary ~ "the login"', "summary !~ firefox", "summary is not EMPTY",
            "description ~ submit", "description ~ 'form'", "description ~ 'freez*'",
            "text ~ 'safari submit'", "text !~ chrome", "description is not EMPTY",
        ],
    )  # fmt: skip
    def test_matches(self, jql: str) -> None:
        assert ok(jql, self.DOC)

    @pytest.mark.parametrize(
        "jql",
        [
            "summary ~ log", "summary ~ 'login firefox'", "summary ~ 'fire*'",
            "summary ~ submit", "summary !~ login", "description ~ safari",
            "text ~ 'safari chrome'", "summary ~ 'the'", "summary is EMPTY", "summary ~ null",
        ],
    )  # fmt: skip
    def test_does_not_match(self, jql: str) -> None:
        assert not ok(jql, self.DOC)

    def test_empty_description(self) -> None:
        doc = make_doc(1, description_text="")
        assert ok("description is EMPTY", doc) and not ok("description ~ x", doc)
        assert ok("description !~ x", doc)


class TestDates:
    DOC = make_doc(
        0,
        created=ms("2024-03-10T08:15"),
        updated=NOW_MS - 3 * 3_600_000,
        duedate="2024-03-16",
    )

    @pytest.mark.parametrize(
        "jql",
        [
            'created = "2024/03/10 08:15"', 'created = "2024-03-10 08:15"',
            'created >= "2024/03/10"', 'created < "2024-03-11"', "created > 2024-03-10",
            f"created = {ms('2024-03-10T08:15')}", f"created < {ms('2024-03-10T08:16')}",
            f"created in ({ms('2024-03-10T08:15')}, 5)", "createdDate != '2024-03-10'",
            "updated > -4h", "updated < -2h", "updated >= '-1d'", "updated > -1w",
            "updated > -200m", "updated <= now()", "updatedDate >= startOfDay()",
            "updated < endOfDay()", "updated > startOfDay(-1)", "updated < '+1d'",
            "updated > '-1w 2d'", "updated > startOfDay('-2h')", "updated > '-200minutes'",
            "updated > '-1 day'",
            "duedate = '2024-03-16'", "due > now()", "duedate >= endOfDay()",
            "duedate < endOfDay('+1d')", "duedate <= '2024/03/16 00:00'",
            "duedate is not EMPTY", "duedate in (EMPTY, '2024-03-16')",
            "duedate not in ('2024-03-17')", "created is not EMPTY",
        ],
    )  # fmt: skip
    def test_matches(self, jql: str) -> None:
        assert ok(jql, self.DOC)

    @pytest.mark.parametrize(
        "jql",
        [
            'created = "2024/03/10"', 'created > "2024-03-10 08:15"', "created > -1d",
            "updated < -4h", "updated > -2h", "updated > now()", "updated < startOfDay()",
            "updated < endOfDay(-1)", "due < now()", "duedate = '2024-03-17'",
            "duedate > startOfDay('+1d')", "duedate is EMPTY", "created is EMPTY",
            "duedate not in ('2024-03-16')",
        ],
    )  # fmt: skip
    def test_does_not_match(self, jql: str) -> None:
        assert not ok(jql, self.DOC)

    def test_relative_dates_follow_the_context_clock(self) -> None:
        c = compile_jql("updated >= -1h")
        later = JqlContext(now_ms=NOW_MS + 5 * 3_600_000, current_account_id=None)
        assert not c.matches(self.DOC, CTX)
        earlier = JqlContext(now_ms=NOW_MS - 2 * 3_600_000, current_account_id=None)
        assert c.matches(self.DOC, earlier) and not c.matches(self.DOC, later)

    def test_empty_due_date_is_excluded_by_comparisons_and_negations(self) -> None:
        doc = make_doc(1)
        for jql in ("duedate < now()", "duedate > now()", "duedate != '2024-01-01'"):
            assert not ok(jql, doc)
        assert ok("duedate is EMPTY", doc) and ok("duedate = EMPTY", doc)


class TestOrderBy:
    def test_ascending_descending_and_multi_key(self) -> None:
        docs = [
            make_doc(1, priority={"id": "2", "name": "High"}),
            make_doc(2, priority={"id": "10", "name": "Custom"}),
            make_doc(3, priority={"id": "2", "name": "High"}),
            make_doc(4, priority={"id": "1", "name": "Highest"}),
        ]
        assert keys("ORDER BY priority", docs) == ["PROJ-4", "PROJ-1", "PROJ-3", "PROJ-2"]
        assert keys("ORDER BY priority DESC, created DESC", docs) == [
            "PROJ-2", "PROJ-3", "PROJ-1", "PROJ-4",
        ]  # fmt: skip
        assert keys("ORDER BY priority ASC, key DESC", docs) == [
            "PROJ-4", "PROJ-3", "PROJ-1", "PROJ-2",
        ]  # fmt: skip

    def test_key_orders_by_project_then_number(self) -> None:
        docs = [make_doc(10), make_doc(9), make_doc(100), make_doc(3, project="AB")]
        assert keys("ORDER BY key", docs) == ["AB-3", "PROJ-9", "PROJ-10", "PROJ-100"]
        assert keys("ORDER BY issuekey DESC", docs) == ["PROJ-100", "PROJ-10", "PROJ-9", "AB-3"]

    def test_empty_values_sort_last_ascending_first_descending(self) -> None:
        docs = [
            make_doc(1, duedate="2024-05-01", assignee="acc-b"),
            make_doc(2, assignee="acc-a"),
            make_doc(3, duedate="2024-04-01"),
        ]
        assert keys("ORDER BY duedate ASC", docs) == ["PROJ-3", "PROJ-1", "PROJ-2"]
        assert keys("ORDER BY duedate DESC", docs) == ["PROJ-2", "PROJ-1", "PROJ-3"]
        assert keys("ORDER BY assignee", docs) == ["PROJ-2", "PROJ-1", "PROJ-3"]
        assert keys("ORDER BY assignee DESC", docs) == ["PROJ-3", "PROJ-1", "PROJ-2"]

    def test_strings_descending_put_longer_prefix_first(self) -> None:
        docs = [make_doc(1, summary="ab"), make_doc(2, summary="Abc"), make_doc(3, summary="b")]
        assert keys("ORDER BY summary", docs) == ["PROJ-1", "PROJ-2", "PROJ-3"]
        assert keys("ORDER BY summary DESC", docs) == ["PROJ-3", "PROJ-2", "PROJ-1"]

    def test_other_sortable_fields(self) -> None:
        docs = [
            make_doc(1, status="Done", project="B"),
            make_doc(2, status="To Do", project="A"),
            make_doc(3, status="In Progress", project="C"),
        ]
        assert keys("ORDER BY status", docs) == ["B-1", "C-3", "A-2"]
        assert keys("ORDER BY statusCategory", docs) == ["A-2", "C-3", "B-1"]
        assert keys("ORDER BY project DESC", docs) == ["C-3", "B-1", "A-2"]
        assert keys("ORDER BY updated DESC, id", docs) == ["C-3", "A-2", "B-1"]
        assert keys("ORDER BY issuetype, id DESC", docs) == ["C-3", "A-2", "B-1"]

    def test_ties_are_broken_by_ascending_id(self) -> None:
        docs = [make_doc(n, created=0) for n in (5, 1, 3)]
        assert keys("ORDER BY created DESC", docs) == ["PROJ-1", "PROJ-3", "PROJ-5"]
        assert keys("", docs) == ["PROJ-1", "PROJ-3", "PROJ-5"]


# -- properties ----------------------------------------------------------------------------
# Few words and short phrases, so that equal summaries and prefixes ("login" / "Login crash")
# are common: both stress the ordering of strings.
SUMMARIES = ["login", "Login crash", "login crash alpha", "crash", "alpha beta", "alpha", "beta"]
SORT_FIELDS = ["created", "updated", "id", "key", "priority", "summary", "duedate", "assignee"]


@st.composite
def doc_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    specs = draw(st.lists(st.tuples(
        st.sampled_from(["P", "Q"]), st.sampled_from(list(STATUSES)),
        st.integers(0, 3), st.integers(0, 3),
        st.sampled_from([None, "acc-me", "acc-x"]),
        st.lists(st.sampled_from(["x", "y"]), unique=True),
        st.sampled_from([None, {"id": "2", "name": "High"}, {"id": "3", "name": "Medium"}]),
        st.sampled_from(SUMMARIES),
        st.sampled_from([None, "2024-03-14", "2024-03-20"]),
    ), max_size=25))  # fmt: skip
    ids = draw(st.permutations(range(1, len(specs) + 1)))
    return [
        make_doc(n, project=p, status=s, created=ms("2024-03-14T00:00") + c * 3_600_000,
                 updated=NOW_MS - u * 86_400_000, assignee=a, labels=lb, priority=pr,
                 summary=summary, duedate=due)
        for n, (p, s, c, u, a, lb, pr, summary, due) in zip(ids, specs, strict=True)
    ]  # fmt: skip


order_bys = st.lists(
    st.tuples(st.sampled_from(SORT_FIELDS), st.sampled_from(["", " ASC", " DESC"])),
    min_size=1,
    max_size=3,
).map(lambda fs: "ORDER BY " + ", ".join(f + d for f, d in fs))

simple_clauses = st.sampled_from(
    [
        "project = P", "project in (P, Q)", "status = Done", "status != 'To Do'",
        "statusCategory = indeterminate", "assignee = currentUser()", "assignee != acc-x",
        "assignee is EMPTY", "assignee not in (acc-me)", "labels = x", "labels != y",
        "labels is not EMPTY", "labels not in (x)", "priority = High", "priority is EMPTY",
        "priority != Medium", "resolution = Unresolved", "summary ~ login",
        "summary !~ 'alpha beta'", "text ~ 'cra*'", "created > '2024-03-14 01:30'",
        "updated >= -1d", "updated < startOfDay(-2)", "duedate <= now()", "duedate != 2024-03-20",
        "duedate is EMPTY", "key > P-3", "id <= 10005", "key in (P-1, Q-2)",
    ]
)  # fmt: skip
clauses = st.recursive(
    simple_clauses,
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda ab: f"({ab[0]} AND {ab[1]})"),
        st.tuples(inner, inner).map(lambda ab: f"({ab[0]} OR {ab[1]})"),
        inner.map(lambda a: f"NOT ({a})"),
    ),
    max_leaves=4,
)


def _reference_cmp(order: list[tuple[str, bool]]) -> Callable[[Any, Any], int]:
    """An independent comparator for ORDER BY: empty last ascending, then id ascending."""
    getters: dict[str, Callable[[dict[str, Any]], Any]] = {
        "key": lambda d: (d["key"].split("-")[0], int(d["key"].split("-")[1])),
        "priority": lambda d: d["priority"] and int(d["priority"]["id"]),
        "summary": lambda d: d["summary"].lower(),
    }

    def value(doc: dict[str, Any], field: str) -> Any:
        return getters[field](doc) if field in getters else doc[field]

    def cmp(a: dict[str, Any], b: dict[str, Any]) -> int:
        for field, desc in order:
            va, vb = value(a, field), value(b, field)
            if va == vb:
                continue
            if va is None or vb is None:
                result = 1 if va is None else -1
            else:
                result = -1 if va < vb else 1
            return -result if desc else result
        return -1 if a["id"] < b["id"] else int(a["id"] > b["id"])

    return cmp


class DocSite:
    """What ``SearchEngine`` reads of a site: issues by id, their search documents (here the
    generated documents themselves) and the site's "now"."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.issues = {d["id"]: d for d in docs}

    def search_doc(self, doc: dict[str, Any]) -> dict[str, Any]:
        return doc

    def now_ms(self) -> int:
        return NOW_MS


@pytest.mark.slow
class TestProperties:
    @settings(max_examples=200, deadline=None)
    @given(docs=doc_lists(), order_by=order_bys, seed=st.randoms(use_true_random=False))
    def test_sort_is_total_and_matches_reference(
        self, docs: list[dict[str, Any]], order_by: str, seed: random.Random
    ) -> None:
        shuffled = docs[:]
        seed.shuffle(shuffled)
        # Every single-key order too: cheap, and a random list rarely reaches each of them.
        singles = [f"ORDER BY {f} {d}" for f in SORT_FIELDS for d in ("ASC", "DESC")]
        for jql in [order_by, *singles]:
            c = compile_jql(jql)
            once = [d["id"] for d in sorted(docs, key=c.sort_key)]
            assert [d["id"] for d in sorted(shuffled, key=c.sort_key)] == once
            assert len({c.sort_key(d) for d in docs}) == len(docs)
            reference = functools.cmp_to_key(_reference_cmp(list(c.order_by)))
            assert once == [d["id"] for d in sorted(docs, key=reference)], jql

    @settings(max_examples=150, deadline=None)
    @given(docs=doc_lists(), where=clauses, order_by=order_bys, data=st.data())
    def test_token_paging_returns_each_match_once(
        self, docs: list[dict[str, Any]], where: str, order_by: str, data: st.DataObject
    ) -> None:
        """The emulator's own search (``SearchEngine.page`` and its page tokens) walks the
        matches in query order, each once, evaluating the JQL once for the whole walk."""
        jql = f"{where} {order_by}"
        c = compile_jql(jql)
        expected = sorted((d for d in docs if c.matches(d, CTX)), key=c.sort_key)
        engine = SearchEngine(cast(Any, DocSite(docs)))
        seen: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            size = data.draw(st.integers(1, 7))
            page, token = engine.page(jql, token, size, CTX.current_account_id)
            assert len(page) <= size
            seen.extend(cast(list[dict[str, Any]], page))
            if token is None:
                break
        assert [d["id"] for d in seen] == [d["id"] for d in expected]
        assert engine.evaluations == 1

    @settings(max_examples=200, deadline=None)
    @given(docs=doc_lists(), a=clauses)
    def test_excluded_middle(self, docs: list[dict[str, Any]], a: str) -> None:
        everything = compile_jql(f"({a}) OR NOT ({a})")
        nothing = compile_jql(f"({a}) AND NOT ({a})")
        assert all(everything.matches(d, CTX) for d in docs)
        assert not any(nothing.matches(d, CTX) for d in docs)

    @settings(max_examples=100, deadline=None)
    @given(docs=doc_lists(), a=clauses, b=clauses)
    def test_de_morgan(self, docs: list[dict[str, Any]], a: str, b: str) -> None:
        left = compile_jql(f"NOT (({a}) AND ({b}))")
        right = compile_jql(f"NOT ({a}) OR NOT ({b})")
        assert [left.matches(d, CTX) for d in docs] == [right.matches(d, CTX) for d in docs]


def test_compiled_type() -> None:
    assert isinstance(compile_jql("project = P"), CompiledJql)
