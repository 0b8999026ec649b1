"""Normalized writes -> Table API record bodies, as pure functions (no I/O).

``create_fields`` is shared by single create (``POST /api/now/table/<table>``) and bulk create
(one Batch API item each), so both send exactly the same fields. The identifier goes into
``correlation_id`` and this connection's marker of it into ``correlation_display``: the
marker says "this connection wrote that identifier" (two connections to one instance never
mistake each other's tickets) and is what exactly-once searches for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ticketbridge.connectors.base import UNSET, CreateSpec, UpdateSpec
from ticketbridge.connectors.servicenow.config import ServiceNowOptions
from ticketbridge.connectors.servicenow.mapping import (
    IMPACT_URGENCY,
    RESOLVING,
    state_for,
)
from ticketbridge.errors import Unprocessable

# Tables whose resolution needs close_code and close_notes (ServiceNow's data policies).
RESOLUTION_TABLES = frozenset({"incident", "problem"})


def _date(value: date | None) -> str:
    return f"{value.isoformat()} 00:00:00" if value is not None else ""


def status_fields(
    status: str, options: ServiceNowOptions, given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``state`` for the normalized ``status``, with the resolution fields a resolve or
    close needs (the caller's ``close_code``/``close_notes`` custom fields win)."""
    fields: dict[str, Any] = {"state": state_for(status, options.table, options)}
    if status in RESOLVING and options.table in RESOLUTION_TABLES:
        given = given or {}
        fields["close_code"] = given.get("close_code") or options.close_code
        fields["close_notes"] = given.get("close_notes") or options.close_notes
    return fields


def priority_fields(priority: str) -> dict[str, str]:
    if priority not in IMPACT_URGENCY:
        raise Unprocessable(f"no ServiceNow impact and urgency give {priority}", field="priority")
    impact, urgency = IMPACT_URGENCY[priority]
    return {"impact": impact, "urgency": urgency}


def check_table(project: str | None, options: ServiceNowOptions) -> None:
    """A ServiceNow connection has no projects; a project vendor id, when sent, must name the
    connection's task table (what the passthrough projects list shows)."""
    if project is not None and project != options.table:
        raise Unprocessable(
            f"project_vendor_id: this ServiceNow connection writes {options.table!r} records; "
            f"{project!r} is not its table (leave the project out)",
            field="project_vendor_id",
        )


def _no_tags(tags: tuple[str, ...]) -> None:
    if tags:
        raise Unprocessable("ServiceNow records have no tags; leave tags out", field="tags")


def create_fields(
    spec: CreateSpec, options: ServiceNowOptions, *, parent_sys_id: str | None = None
) -> dict[str, Any]:
    """The record of a create; ``parent_sys_id``: the parent resolved to its sys_id."""
    check_table(spec.project, options)
    _no_tags(spec.tags)
    fields: dict[str, Any] = {"short_description": spec.name}
    if spec.description is not None:
        fields["description"] = spec.description
    if spec.issue_type_id is not None:
        fields["category"] = spec.issue_type_id
    if spec.priority is not None:
        fields.update(priority_fields(spec.priority))
    if spec.assignee is not None:
        fields["assigned_to"] = spec.assignee
    if parent_sys_id is not None:
        fields["parent_incident" if options.table == "incident" else "parent"] = parent_sys_id
    if spec.due_date is not None:
        fields["due_date"] = _date(spec.due_date)
    fields.update(spec.custom_fields)
    if spec.status is not None:
        fields.update(status_fields(spec.status, options, spec.custom_fields))
    if spec.identifier is not None:
        fields["correlation_id"] = spec.identifier
    if spec.marker is not None:
        fields["correlation_display"] = spec.marker
    return fields


def update_fields(spec: UpdateSpec, options: ServiceNowOptions) -> dict[str, Any]:
    """The PATCH body of ``spec``, status included (ServiceNow has no workflow transitions
    in the Table API: the state is a field)."""
    fields: dict[str, Any] = {}
    if spec.name is not UNSET:
        fields["short_description"] = spec.name
    if spec.description is not UNSET:
        fields["description"] = spec.description or ""
    if spec.priority is not UNSET:
        fields.update(priority_fields(spec.priority))
    if spec.assignee is not UNSET:
        fields["assigned_to"] = spec.assignee or ""
    if spec.due_date is not UNSET:
        fields["due_date"] = _date(spec.due_date)
    if spec.tags is not UNSET:
        _no_tags(spec.tags)
    fields.update({k: ("" if v is None else v) for k, v in spec.custom_fields.items()})
    if spec.status is not UNSET:
        fields.update(status_fields(spec.status, options, spec.custom_fields))
    return fields


def custom_field_names(custom_fields: Mapping[str, Any]) -> list[str]:
    return [k for k in custom_fields if k.startswith("u_")]
