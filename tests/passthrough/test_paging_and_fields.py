"""Pure helpers: splitting a caller's window into Jira pages, and the search field plan."""

from __future__ import annotations

from typing import Any

import pytest

from ticketbridge.connectors.jira.passthrough_mapping import NORMALIZED_FIELDS, FieldPlan
from ticketbridge.connectors.jira.passthrough_ops import fetch_window
from ticketbridge.errors import Unprocessable
from ticketbridge.passthrough.service import parse_fields


class Pages:
    """A paged source of 0..total-1 that serves at most ``serves`` per page, like Jira."""

    def __init__(self, total: int | None, serves: int, size: int = 250) -> None:
        self.total, self.serves, self.size = total, serves, size
        self.asked: list[tuple[int, int]] = []

    async def __call__(self, start: int, size: int) -> tuple[list[dict[str, Any]], int | None, int]:
        self.asked.append((start, size))
        served = min(size, self.serves)
        values = [{"n": n} for n in range(start, min(start + served, self.size))]
        return values, self.total, served


class TestFetchWindow:
    async def test_steps_by_what_jira_serves_not_by_what_we_asked(self) -> None:
        pages = Pages(total=250, serves=50)
        values, total = await fetch_window(pages, 10, 200, 100)
        assert [v["n"] for v in values] == list(range(10, 210))
        assert total == 250
        assert pages.asked == [(10, 100), (60, 50), (110, 50), (160, 50)]

    async def test_stops_at_the_total(self) -> None:
        pages = Pages(total=120, serves=100, size=120)
        values, _ = await fetch_window(pages, 0, 1000, 100)
        assert [v["n"] for v in values] == list(range(120))
        assert pages.asked == [(0, 100), (100, 20)]

    async def test_without_total_asks_for_the_whole_window(self) -> None:
        pages = Pages(total=None, serves=100, size=130)
        values, total = await fetch_window(pages, 0, 300, 100)
        assert [v["n"] for v in values] == list(range(130)) and total is None
        assert pages.asked == [(0, 100), (100, 100), (200, 100)]

    async def test_small_window_is_one_call(self) -> None:
        pages = Pages(total=250, serves=100)
        values, _ = await fetch_window(pages, 3, 4, 100)
        assert [v["n"] for v in values] == [3, 4, 5, 6] and pages.asked == [(3, 4)]


class TestFieldPlan:
    def test_default_asks_and_shows_the_normalized_fields(self) -> None:
        plan = FieldPlan.of(None)
        assert plan.request == NORMALIZED_FIELDS
        assert plan.visible({"summary": 1}) == {"summary": 1}

    def test_explicit_fields_go_to_jira_as_they_are(self) -> None:
        plan = FieldPlan.of(["customfield_1", "-comment"])
        assert plan.request == ("customfield_1", "-comment")
        assert plan.visible({"customfield_1": 2}) == {"customfield_1": 2}

    def test_with_normalized_view_its_fields_are_fetched_but_not_shown(self) -> None:
        plan = FieldPlan.of(["customfield_1"], normalized=True)
        assert plan.request[0] == "customfield_1"
        assert set(NORMALIZED_FIELDS) <= set(plan.request)
        assert plan.visible({"summary": 1, "customfield_1": 2}) == {"customfield_1": 2}

    def test_excluding_a_needed_field_is_applied_on_the_answer(self) -> None:
        plan = FieldPlan.of(["*all", "-summary", "-comment"], normalized=True)
        assert "-summary" not in plan.request and "-comment" in plan.request
        assert plan.visible({"summary": 1, "status": 2, "comment": 3}) == {"status": 2}


class TestParseFields:
    def test_splits_trims_and_dedupes(self) -> None:
        assert parse_fields(" summary, ,status,summary ") == ["summary", "status"]

    @pytest.mark.parametrize("raw", [None, "", " , "])
    def test_blank_means_default(self, raw: str | None) -> None:
        assert parse_fields(raw) is None

    @pytest.mark.parametrize("raw", ["sum mary", "a;b", "*everything", "x" * 101])
    def test_refuses_what_is_not_a_field_id(self, raw: str) -> None:
        with pytest.raises(Unprocessable) as caught:
            parse_fields(raw)
        assert caught.value.field == "fields"
