"""The pure parts of the ServiceNow mapping: state and priority tables, the connection's
status mapping, identifiers read back only with this connection's marker, safe queries."""

from __future__ import annotations

import pytest

from ticketbridge.connectors import marker_label
from ticketbridge.connectors.servicenow import query as q
from ticketbridge.connectors.servicenow.config import ServiceNowOptions, instance_url
from ticketbridge.connectors.servicenow.mapping import (
    IMPACT_URGENCY,
    PRIORITIES,
    WRITE_STATES,
    identifier_of,
    map_status,
    state_for,
)
from ticketbridge.errors import Unprocessable
from ticketbridge.fakeservicenow.schema import PRIORITY


class TestTables:
    @pytest.mark.parametrize("priority", sorted(IMPACT_URGENCY))
    def test_each_written_priority_reads_back_as_itself(self, priority: str) -> None:
        # ServiceNow's default lookup (as the emulator has it) turns impact x urgency into it.
        assert PRIORITIES[PRIORITY[IMPACT_URGENCY[priority]]] == priority

    @pytest.mark.parametrize("table", sorted(WRITE_STATES))
    def test_every_written_state_reads_back_within_the_table(self, table: str) -> None:
        options = ServiceNowOptions(table=table)  # type: ignore[arg-type]
        for status, state in WRITE_STATES[table].items():
            read = map_status(state, None, table, options)
            assert read == status or (status, read) in {
                ("TODO", "OPEN"),
                ("RESOLVED", "IN_REVIEW"),
                ("RESOLVED", "CLOSED"),
                ("IN_REVIEW", "IN_PROGRESS"),
            }


class TestStatusMapping:
    def test_values_and_labels_override_the_defaults(self) -> None:
        options = ServiceNowOptions(status_mapping={"3": "TODO", "Resolved": "CLOSED"})
        assert map_status("3", "On Hold", "incident", options) == "TODO"
        assert map_status("6", "Resolved", "incident", options) == "CLOSED"
        assert map_status("2", "In Progress", "incident", options) == "IN_PROGRESS"

    def test_a_write_uses_the_first_numeric_key(self) -> None:
        options = ServiceNowOptions(status_mapping={"Awaiting": "TODO", "3": "TODO"})
        assert state_for("TODO", "incident", options) == "3"
        assert state_for("CLOSED", "incident", options) == "7"

    def test_unknown_statuses_are_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown statuses"):
            ServiceNowOptions(status_mapping={"1": "DONE"})


class TestIdentifier:
    def test_only_this_connections_marker_makes_it_ours(self) -> None:
        record = {"correlation_id": "X-1", "correlation_display": marker_label("conn-a", "X-1")}
        assert identifier_of(record, "conn-a") == "X-1"
        assert identifier_of(record, "conn-b") is None
        assert identifier_of({"correlation_id": "X-1"}, "conn-a") is None


class TestQueries:
    def test_carets_are_escaped_and_line_breaks_refused(self) -> None:
        assert q.value("a^b") == "a^^b"
        with pytest.raises(Unprocessable):
            q.value("a\nb")

    def test_after_key_repeats_the_base_in_both_blocks(self) -> None:
        text = q.after_key("active=true", "2025-01-01 00:00:00", "ab")
        assert text == (
            "active=true^sys_updated_on>2025-01-01 00:00:00"
            "^NQactive=true^sys_updated_on=2025-01-01 00:00:00^sys_id>ab"
        )

    def test_stamp_is_utc_seconds(self) -> None:
        assert q.stamp(1_750_000_000_999) == "2025-06-15 15:06:40"


class TestInstance:
    @pytest.mark.parametrize(
        ("given", "url"),
        [
            ("dev12345", "https://dev12345.service-now.com"),
            ("Acme-Test", "https://acme-test.service-now.com"),
            ("https://acme.service-now.com/", "https://acme.service-now.com"),
        ],
    )
    def test_names_and_urls(self, given: str, url: str) -> None:
        assert instance_url(given) == url

    @pytest.mark.parametrize("given", ["acme.service-now.com/x?y", "ftp://a", "a b"])
    def test_refused(self, given: str) -> None:
        with pytest.raises(ValueError):
            instance_url(given)
