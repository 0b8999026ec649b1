"""Normalized writes -> Jira REST v3 request bodies, as pure functions (no I/O).

``build_create_payload`` is shared by single create (``POST /issue``) and bulk create (one
``issueUpdates`` item each), so both send exactly the same fields. Every created issue carries
the reconciliation marker label and an entity property with its identifier (see
:mod:`markers`); ``build_edit_payload`` keeps the markers when it replaces the tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from ticketbridge.connectors.base import UNSET, CreateSpec, UpdateSpec
from ticketbridge.connectors.jira.adf import markdown_to_adf
from ticketbridge.connectors.jira.config import JiraOptions
from ticketbridge.connectors.jira.mapping import DEFAULT_PRIORITY_MAPPING
from ticketbridge.connectors.jira.markers import (
    MARKER_PROPERTY_KEY,
    is_marker_label,
    marker_label,
    visible_tags,
)
from ticketbridge.errors import Unprocessable

__all__ = [
    "build_create_payload",
    "build_edit_payload",
    "custom_field_ids",
    "is_marker_label",
    "marker_label",
    "priority_name",
    "ref",
    "visible_tags",
]


def priority_name(priority: str, options: JiraOptions) -> str:
    """Normalized priority -> Jira priority name: the connection's ``priority_mapping`` read
    backwards first (its first name for that priority), then Jira's default scheme."""
    for mapping in (options.priority_mapping, DEFAULT_PRIORITY_MAPPING):
        for name, normalized in mapping.items():
            if normalized == priority:
                return name
    raise Unprocessable(f"no Jira priority maps to {priority}", field="priority")


def ref(value: str) -> dict[str, str]:
    """A project or issue reference: all digits is an id, anything else a key."""
    return {"id": value} if value.isdigit() else {"key": value}


def _date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_create_payload(spec: CreateSpec, options: JiraOptions) -> dict[str, Any]:
    """The ``IssueUpdateDetails`` body of ``POST /issue`` (and of one bulk item).

    ``spec.status`` is not part of it: Jira creates issues in the workflow's initial status.
    """
    # Jira's capabilities require both; the ticket service refuses a create without them.
    if spec.project is None:
        raise Unprocessable("a Jira issue needs a project", field="project_vendor_id")
    if spec.issue_type_id is None:
        raise Unprocessable("a Jira issue needs an issue type", field="type_vendor_id")
    fields: dict[str, Any] = {
        "project": ref(spec.project),
        "issuetype": {"id": spec.issue_type_id},
        "summary": spec.name,
    }
    description = markdown_to_adf(spec.description)
    if description is not None:
        fields["description"] = description
    if spec.priority is not None:
        fields["priority"] = {"name": priority_name(spec.priority, options)}
    if spec.assignee is not None:
        fields["assignee"] = {"accountId": spec.assignee}
    if spec.parent is not None:
        fields["parent"] = ref(spec.parent)
    labels = list(dict.fromkeys(spec.tags))
    if spec.marker is not None:
        labels.append(spec.marker)
    if labels:
        fields["labels"] = labels
    if spec.due_date is not None:
        fields["duedate"] = _date(spec.due_date)
    fields.update(spec.custom_fields)
    payload: dict[str, Any] = {"fields": fields}
    if spec.identifier is not None:
        payload["properties"] = [
            {"key": MARKER_PROPERTY_KEY, "value": {"identifier": spec.identifier}}
        ]
    return payload


def build_edit_payload(
    spec: UpdateSpec, options: JiraOptions, *, current_labels: Iterable[str] = ()
) -> dict[str, Any] | None:
    """The ``PUT /issue/{key}`` body for every change but the status; ``None`` if nothing
    but the status changes. ``current_labels`` supplies the markers to keep when the tags
    are replaced."""
    fields: dict[str, Any] = {}
    if spec.name is not UNSET:
        fields["summary"] = spec.name
    if spec.description is not UNSET:
        fields["description"] = markdown_to_adf(spec.description)
    if spec.priority is not UNSET:
        fields["priority"] = {"name": priority_name(spec.priority, options)}
    if spec.assignee is not UNSET:
        fields["assignee"] = None if spec.assignee is None else {"accountId": spec.assignee}
    if spec.due_date is not UNSET:
        fields["duedate"] = _date(spec.due_date)
    if spec.tags is not UNSET:
        markers = [label for label in current_labels if is_marker_label(label)]
        fields["labels"] = list(dict.fromkeys([*spec.tags, *markers]))
    fields.update(spec.custom_fields)
    return {"fields": fields} if fields else None


def custom_field_ids(custom_fields: Iterable[str]) -> tuple[str, ...]:
    """Custom fields to read back explicitly (``*navigable`` only lists declared fields)."""
    return tuple(k for k in custom_fields if k.startswith("customfield_"))
