"""ServiceNow records <-> normalized data, as pure functions (no I/O).

Records are read with ``sysparm_display_value=all``: each field is ``{"value",
"display_value"}`` (a bare string is accepted too). The mapping is documented in
docs/vendors/servicenow.md; in short: ``short_description`` is the name, ``state`` the status
(with the resolution fields when resolving), ``priority`` (computed by ServiceNow from
``impact`` x ``urgency``) the priority, ``category`` the type, ``correlation_id`` the
identifier, ``u_*`` fields the custom fields; there are no projects and no tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from ticketbridge.connectors.base import (
    CreateSpec,
    NormalizedGroup,
    NormalizedIssue,
    NormalizedIssueType,
    NormalizedUser,
)
from ticketbridge.connectors.markers import marker_label
from ticketbridge.connectors.servicenow.config import ServiceNowOptions

VENDOR_NAME = "SERVICENOW"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# state value -> normalized status, per task table (ServiceNow's default choices).
STATES: dict[str, dict[str, str]] = {
    "incident": {
        "1": "OPEN",  # New
        "2": "IN_PROGRESS",  # In Progress
        "3": "IN_REVIEW",  # On Hold (awaiting someone)
        "6": "RESOLVED",  # Resolved
        "7": "CLOSED",  # Closed
        "8": "CLOSED",  # Canceled
    },
    "problem": {
        "101": "OPEN",  # New
        "102": "TODO",  # Assess
        "103": "IN_PROGRESS",  # Root Cause Analysis
        "104": "IN_PROGRESS",  # Fix in Progress
        "106": "RESOLVED",  # Resolved
        "107": "CLOSED",  # Closed
    },
    "change_request": {
        "-5": "OPEN",  # New
        "-4": "TODO",  # Assess
        "-3": "IN_REVIEW",  # Authorize
        "-2": "TODO",  # Scheduled
        "-1": "IN_PROGRESS",  # Implement
        "0": "IN_REVIEW",  # Review
        "3": "CLOSED",  # Closed
        "4": "CLOSED",  # Canceled
    },
    "sc_req_item": {
        "-5": "TODO",  # Pending
        "1": "OPEN",  # Open
        "2": "IN_PROGRESS",  # Work in Progress
        "3": "CLOSED",  # Closed Complete
        "4": "CLOSED",  # Closed Incomplete
        "7": "CLOSED",  # Closed Skipped
    },
}
# normalized status -> the state value a write sets, per task table.
WRITE_STATES: dict[str, dict[str, str]] = {
    "incident": {
        "OPEN": "1",
        "TODO": "1",
        "IN_PROGRESS": "2",
        "IN_REVIEW": "3",
        "RESOLVED": "6",
        "CLOSED": "7",
    },
    "problem": {
        "OPEN": "101",
        "TODO": "102",
        "IN_PROGRESS": "104",
        "IN_REVIEW": "103",
        "RESOLVED": "106",
        "CLOSED": "107",
    },
    "change_request": {
        "OPEN": "-5",
        "TODO": "-4",
        "IN_PROGRESS": "-1",
        "IN_REVIEW": "0",
        "RESOLVED": "0",
        "CLOSED": "3",
    },
    "sc_req_item": {
        "OPEN": "1",
        "TODO": "-5",
        "IN_PROGRESS": "2",
        "IN_REVIEW": "2",
        "RESOLVED": "3",
        "CLOSED": "3",
    },
}
# Writing these needs the resolution fields (close_code, close_notes) on incident/problem.
RESOLVING = frozenset({"RESOLVED", "CLOSED"})
DONE = frozenset({"RESOLVED", "CLOSED"})

PRIORITIES = {"1": "CRITICAL", "2": "HIGH", "3": "MEDIUM", "4": "LOW", "5": "INFORMATIONAL"}
# normalized priority -> (impact, urgency) that ServiceNow's default lookup turns into it.
IMPACT_URGENCY = {
    "CRITICAL": ("1", "1"),
    "HIGH": ("1", "2"),
    "MEDIUM": ("2", "2"),
    "LOW": ("2", "3"),
    "INFORMATIONAL": ("3", "3"),
}
CUSTOM_PREFIX = "u_"


def value(record: Mapping[str, Any], field: str) -> str | None:
    """The raw value of ``field`` ("" and missing are None)."""
    raw = record.get(field)
    if isinstance(raw, dict):
        raw = raw.get("value")
    if raw is None or raw == "":
        return None
    return str(raw)


def label(record: Mapping[str, Any], field: str) -> str | None:
    """The display value of ``field`` (the raw value when no label was sent)."""
    raw = record.get(field)
    if isinstance(raw, dict):
        shown = raw.get("display_value")
        raw = shown if shown not in (None, "") else raw.get("value")
    if raw is None or raw == "":
        return None
    return str(raw)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_date(text: str | None) -> date | None:
    moment = parse_time(text)
    if moment is not None:
        return moment.date()
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def map_status(
    state: str | None, state_label: str | None, table: str, options: ServiceNowOptions
) -> str:
    mapping = options.status_mapping
    for key in (state, state_label):
        if key is not None and key in mapping:
            return mapping[key]
    return STATES.get(table, STATES["incident"]).get(state or "", "OPEN")


def state_for(status: str, table: str, options: ServiceNowOptions) -> str:
    """The state value a write of the normalized ``status`` sets: the connection's
    ``status_mapping`` read backwards first (its first value that is a state number)."""
    for key, normalized in options.status_mapping.items():
        if normalized == status and key.lstrip("-").isdigit():
            return key
    return WRITE_STATES.get(table, WRITE_STATES["incident"])[status]


def map_priority(priority: str | None) -> str:
    return PRIORITIES.get(priority or "", "UNKNOWN")


def record_url(base_url: str, table: str, sys_id: str) -> str:
    return f"{base_url.rstrip('/')}/{table}.do?sys_id={sys_id}"


def identifier_of(record: Mapping[str, Any], scope: str) -> str | None:
    """``correlation_id`` when this connection wrote it: its marker sits in
    ``correlation_display``. Another integration's (or connection's) correlation id is not
    this connection's identifier (the store then uses the number)."""
    correlation = value(record, "correlation_id")
    marker = value(record, "correlation_display")
    if not scope or not correlation or not marker:
        return None
    return correlation if marker_label(scope, correlation) == marker else None


def issue_from_record(
    record: Mapping[str, Any],
    *,
    base_url: str,
    table: str,
    options: ServiceNowOptions,
    scope: str = "",
) -> NormalizedIssue:
    sys_id = value(record, "sys_id") or ""
    state = value(record, "state")
    status = map_status(state, label(record, "state"), table, options)
    updated = parse_time(value(record, "sys_updated_on"))
    closed = parse_time(value(record, "closed_at")) or parse_time(value(record, "resolved_at"))
    return NormalizedIssue(
        vendor_id=sys_id,
        vendor_key=value(record, "number") or sys_id,
        name=value(record, "short_description") or "",
        description=value(record, "description"),
        status=status,
        priority=map_priority(value(record, "priority")),
        type=label(record, "category"),
        type_vendor_id=value(record, "category"),
        project_vendor_id=None,
        project_vendor_numeric_id=None,
        assigned_user_vendor_id=value(record, "assigned_to"),
        created_by_vendor_id=value(record, "opened_by") or value(record, "caller_id"),
        # The parent's number (its display value), like a Jira parent key.
        parent_ticket_vendor_id=label(record, "parent_incident"),
        url=record_url(base_url, table, sys_id) if sys_id else None,
        tags=(),
        due_date=parse_date(value(record, "due_date")),
        ticket_created_at=parse_time(value(record, "sys_created_on")),
        status_updated_at=(closed if status in DONE else None) or updated,
        closed_at=closed if status in DONE else None,
        vendor_updated_at=updated,
        status_category="done"
        if status in DONE
        else "new"
        if status == "OPEN"
        else "indeterminate",
        vendor_status_name=label(record, "state"),
        vendor_priority_name=label(record, "priority"),
        custom_fields={
            k: value(record, k)
            for k in record
            if k.startswith(CUSTOM_PREFIX) and value(record, k) is not None
        },
        # No people: users come from sys_user (the catalog sync), with their emails; a
        # ticket's reference carries only a sys_id and a name.
        people=(),
        identifier=identifier_of(record, scope),
        vendor=VENDOR_NAME,
    )


def issue_from_spec(
    spec: CreateSpec, *, sys_id: str, number: str, base_url: str, table: str
) -> NormalizedIssue:
    """A record just created from ``spec``, as far as the spec tells (pure, no I/O): what only
    ServiceNow decides (times, the caller, the computed priority's label) arrives with the
    next sync. A new record is in its table's initial state, open work."""
    return NormalizedIssue(
        vendor_id=sys_id,
        vendor_key=number,
        name=spec.name,
        description=spec.description or None,
        status="OPEN",
        priority=spec.priority or "UNKNOWN",
        type=None,
        type_vendor_id=spec.issue_type_id,
        project_vendor_id=None,
        project_vendor_numeric_id=None,
        assigned_user_vendor_id=spec.assignee,
        created_by_vendor_id=None,
        parent_ticket_vendor_id=spec.parent,
        url=record_url(base_url, table, sys_id),
        tags=(),
        due_date=spec.due_date,
        ticket_created_at=None,
        status_updated_at=None,
        closed_at=None,
        vendor_updated_at=None,
        status_category="new",
        vendor_status_name=None,
        vendor_priority_name=None,
        custom_fields=dict(spec.custom_fields),
        people=(),
        identifier=spec.identifier,
        vendor=VENDOR_NAME,
    )


def user_from_record(record: Mapping[str, Any]) -> NormalizedUser:
    active = (value(record, "active") or "true").lower() == "true"
    return NormalizedUser(
        vendor_id=value(record, "sys_id") or "",
        name=label(record, "name") or value(record, "user_name"),
        email=value(record, "email"),
        status="ACTIVE" if active else "INACTIVE",
        account_type=None,
        vendor=VENDOR_NAME,
    )


def group_from_record(record: Mapping[str, Any]) -> NormalizedGroup:
    return NormalizedGroup(
        vendor_id=value(record, "sys_id") or "",
        name=label(record, "name") or "",
        description=value(record, "description"),
        email=value(record, "email"),
        active=(value(record, "active") or "true").lower() == "true",
        manager_vendor_id=value(record, "manager"),
        vendor_updated_at=parse_time(value(record, "sys_updated_on")),
        vendor=VENDOR_NAME,
    )


def category_from_choice(record: Mapping[str, Any]) -> NormalizedIssueType:
    return NormalizedIssueType(
        vendor_id=value(record, "value") or "",
        name=label(record, "label") or value(record, "value") or "",
    )
