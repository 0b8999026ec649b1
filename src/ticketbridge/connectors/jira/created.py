"""What a just-created Jira issue is known to be without asking Jira again (pure, no I/O).

Jira's bulk create answers only ``id`` and ``key`` per issue. Everything else the store keeps
follows from what was sent: Jira stores the fields as given, the project key is the key's
prefix, the URL is the site's ``/browse/<key>``. What only Jira decides is left unknown here
and arrives with the next incremental sync (the issue's ``updated`` time is after the sync's
watermark): its timestamps, the reporter, a default assignee or priority, and the name of the
workflow's initial status (every initial status is open work: ``TODO``, the normalized status
of Jira's "new" category).
"""

from __future__ import annotations

from ticketbridge.connectors.base import Created, CreateSpec, NormalizedIssue
from ticketbridge.connectors.jira.config import JiraOptions
from ticketbridge.connectors.jira.mapping import CATEGORY_STATUS, UNKNOWN_PRIORITY
from ticketbridge.connectors.jira.payloads import priority_name

INITIAL_STATUS = CATEGORY_STATUS["new"]


def project_key_of(issue_key: str) -> str | None:
    """``"ENG-12"`` -> ``"ENG"`` (a Jira issue key is the project key, a dash, a number)."""
    prefix, dash, number = issue_key.rpartition("-")
    return prefix if dash and prefix and number.isdigit() else None


def issue_from_create(
    spec: CreateSpec,
    created: Created,
    *,
    base_url: str,
    options: JiraOptions,
    type_name: str | None = None,
    parent_key: str | None = None,
) -> NormalizedIssue:
    """``type_name``/``parent_key``: the issue type's name and the parent's key as the
    caller's catalog knows them (Jira's answer carries neither; a parent given by key is
    its own key)."""
    key, vendor_id = str(created.key), str(created.vendor_id)
    parent = parent_key or (spec.parent if spec.parent and not spec.parent.isdigit() else None)
    return NormalizedIssue(
        vendor_id=vendor_id,
        vendor_key=key,
        name=spec.name,
        description=spec.description or None,
        status=INITIAL_STATUS,
        priority=spec.priority or UNKNOWN_PRIORITY,
        type=type_name,  # the caller's catalog knows it; Jira's answer does not carry it
        type_vendor_id=spec.issue_type_id,
        project_vendor_id=project_key_of(key),
        project_vendor_numeric_id=spec.project if spec.project and spec.project.isdigit() else None,
        assigned_user_vendor_id=spec.assignee,
        created_by_vendor_id=None,
        parent_ticket_vendor_id=parent,
        url=f"{base_url.rstrip('/')}/browse/{key}",
        tags=tuple(spec.tags),
        due_date=spec.due_date,
        ticket_created_at=None,
        status_updated_at=None,
        closed_at=None,
        vendor_updated_at=None,
        status_category=None,
        vendor_status_name=None,
        vendor_priority_name=priority_name(spec.priority, options) if spec.priority else None,
        custom_fields=dict(spec.custom_fields),
        identifier=spec.identifier,
    )
