"""tickets/read_json.py writes exactly what pydantic writes for ``TicketRead`` and its pages
(or fails exactly as validation fails), on generated rows: stored JSON of every shape,
times with and without microseconds, values of the wrong type."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ticketbridge.api.cursor import CursorPage
from ticketbridge.api.pagination import Page
from ticketbridge.tickets.read_json import ticket_json, tickets_json
from ticketbridge.tickets.schemas import TicketRead

utc_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
naive_times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))
whole_seconds = utc_times.map(lambda t: t.replace(microsecond=0))
times = st.one_of(utc_times, whole_seconds)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
stored_times = st.one_of(
    st.none(),
    utc_times.map(datetime.isoformat),
    naive_times.map(datetime.isoformat),
    whole_seconds.map(datetime.isoformat),
    utc_times.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"),  # Jira's spelling
    st.just("2024-02-30T00:00:00"),
    st.just("2024-01-01"),
    st.integers(),
)
maybe_text = st.one_of(st.none(), st.text(max_size=10), st.integers(max_value=5))


def optional(key: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda v: {key: v}))


def merged(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda ds: {k: v for d in ds for k, v in d.items()})


vendor_data = st.one_of(
    merged(
        optional("vendor", st.one_of(st.just("JIRA"), st.text(max_size=5), st.none())),
        optional("id", maybe_text),
        optional("key", maybe_text),
        optional("statusCategory", maybe_text),
        optional("customFields", st.one_of(st.dictionaries(st.text(max_size=5), json_values))),
        optional("extra", json_values),
    ),
    st.none(),
    st.lists(st.integers(), max_size=1),
)
vendor_attributes = st.one_of(
    merged(
        optional("id", maybe_text),
        optional("vendor", st.one_of(st.just("SERVICENOW"), st.none())),
        optional("created_at", stored_times),
        optional("updated_at", stored_times),
        optional("type", maybe_text),
        optional("type_id", maybe_text),
        optional("status", maybe_text),
        optional("priority", maybe_text),
        optional("data", vendor_data),
        optional("unknown", json_values),
    ),
    st.text(max_size=3),
)
rows = st.fixed_dictionaries(
    {
        "id": st.uuids(),
        "name": st.text(max_size=20),
        "description": st.one_of(st.none(), st.text(max_size=30)),
        "status": st.sampled_from(["TODO", "IN_PROGRESS", "CLOSED"]),
        "priority": st.sampled_from(["HIGH", "UNKNOWN"]),
        "type": st.one_of(st.none(), st.text(max_size=6)),
        "type_id": st.one_of(st.none(), st.uuids()),
        "active": st.booleans(),
        "url": st.one_of(st.none(), st.just("https://acme.atlassian.net/browse/ENG-1")),
        "identifier": st.text(min_size=1, max_size=10),
        "project_id": st.one_of(st.none(), st.uuids()),
        "parent_ticket_id": st.one_of(st.none(), st.uuids()),
        "assigned_user_id": st.one_of(st.none(), st.uuids()),
        "created_by_user_id": st.one_of(st.none(), st.uuids()),
        "project_vendor_id": st.one_of(st.none(), st.text(max_size=5)),
        "assigned_user_vendor_id": st.one_of(st.none(), st.text(max_size=5)),
        "parent_ticket_vendor_id": st.one_of(st.none(), st.text(max_size=5)),
        "ticket_created_at": st.one_of(st.none(), times),
        "due_date": st.one_of(st.none(), st.dates(min_value=date(1970, 1, 1))),
        "closed_at": st.one_of(st.none(), times),
        "status_updated_at": st.one_of(st.none(), times),
        "tags": st.one_of(st.lists(st.text(max_size=6), max_size=3), st.just([1])),
        "vendor_attributes": vendor_attributes,
        "created_at": times,
        "updated_at": times,
    }
)


def pydantic_json(row: dict[str, Any]) -> bytes | type[ValidationError]:
    try:
        return TicketRead.from_row(row).model_dump_json(by_alias=True).encode()
    except ValidationError:
        return ValidationError


def ours(row: dict[str, Any]) -> bytes | type[ValidationError]:
    try:
        return ticket_json(row)
    except ValidationError:
        return ValidationError


@settings(max_examples=400, deadline=None)
@given(rows)
def test_a_ticket_is_written_as_pydantic_writes_it(row: dict[str, Any]) -> None:
    assert ours(row) == pydantic_json(row)


@settings(max_examples=100, deadline=None)
@given(st.lists(rows, max_size=4), st.one_of(st.none(), st.text(max_size=6)))
def test_pages_are_written_as_pydantic_writes_them(
    items: list[dict[str, Any]], cursor: str | None
) -> None:
    try:
        models = TicketRead.from_rows(items)
    except ValidationError:
        with pytest.raises(ValidationError):
            tickets_json(items, next_cursor=cursor, previous_cursor=None)
        return
    expected = CursorPage[TicketRead](items=models, next_cursor=cursor, previous_cursor=None)
    got = tickets_json(items, next_cursor=cursor, previous_cursor=None)
    assert got == expected.model_dump_json(by_alias=True).encode()
    offset = Page[TicketRead](items=models, total=len(items), limit=50, offset=0)
    got = tickets_json(items, total=len(items), limit=50, offset=0)
    assert got == offset.model_dump_json(by_alias=True).encode()


def test_the_fast_form_is_taken_for_a_synced_row() -> None:
    """A row as the sync stores it is written without pydantic (not a fallback)."""
    row = {
        **dict.fromkeys(TicketRead.model_fields),
        "id": uuid.uuid4(),
        "name": "n",
        "status": "TODO",
        "priority": "HIGH",
        "active": True,
        "identifier": "ENG-1",
        "tags": ["a"],
        "created_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
        "vendor_attributes": {
            "id": "1",
            "created_at": datetime.now(UTC).isoformat(),
            "data": {"key": "ENG-1", "customFields": {"x": 1.5}},
        },
    }
    from ticketbridge.tickets import read_json

    assert read_json._plain(row)["vendor_attributes"]["data"]["vendor"] == "JIRA"
    assert ticket_json(row) == pydantic_json(row)
