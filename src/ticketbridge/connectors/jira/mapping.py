"""Pure Jira -> normalized mapping for sync reads (no I/O, no store).

Status and priority go through the connection's ``status_mapping`` / ``priority_mapping``
(by Jira name), then the compatible API's documented defaults (for statuses, also the names of
Jira's classic workflow and a review status, so that each normalized status has a name that
reads back as itself), then (statuses only) the status category, which every Jira status has.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from ticketbridge.connectors.base import (
    NormalizedIssue,
    NormalizedIssueType,
    NormalizedProject,
    NormalizedUser,
)
from ticketbridge.connectors.jira.adf import adf_to_markdown
from ticketbridge.connectors.jira.config import JiraOptions
from ticketbridge.connectors.jira.markers import MARKER_PROPERTY_KEY, identifier_from, visible_tags

# Fields requested by the sync search. ``*navigable`` brings every custom field; the
# exclusions drop heavy fields the mapping never reads (sub-task lists, comments...).
SYNC_FIELDS: tuple[str, ...] = (
    "*navigable",
    "description",
    "-subtasks",
    "-comment",
    "-worklog",
    "-attachment",
    "-issuelinks",
    "-watches",
    "-votes",
    "-progress",
    "-aggregateprogress",
)

# Issue entity properties the sync search returns: the identifier written at create time.
SYNC_PROPERTIES: tuple[str, ...] = (MARKER_PROPERTY_KEY,)

DEFAULT_STATUS_MAPPING: dict[str, str] = {
    "To Do": "TODO",
    "In Progress": "IN_PROGRESS",
    "Done": "CLOSED",
    "Open": "OPEN",
    "Reopened": "OPEN",
    "In Review": "IN_REVIEW",
    "Resolved": "RESOLVED",
    "Closed": "CLOSED",
}
CATEGORY_STATUS: dict[str, str] = {
    "new": "TODO",
    "indeterminate": "IN_PROGRESS",
    "done": "CLOSED",
}
DEFAULT_PRIORITY_MAPPING: dict[str, str] = {
    "Highest": "CRITICAL",
    "High": "HIGH",
    "Medium": "MEDIUM",
    "Low": "LOW",
    "Lowest": "INFORMATIONAL",
}
VENDOR_NAME = "JIRA"
UNKNOWN_PRIORITY = "UNKNOWN"
# A status whose category is unknown (Jira's "undefined" category) counts as open work.
FALLBACK_STATUS = "TODO"


def lookup(mapping: Mapping[str, str], name: str) -> str | None:
    """Exact name first, then case-insensitively (Jira names are displayed as typed)."""
    found = mapping.get(name)
    if found is not None:
        return found
    folded = name.casefold()
    for key, value in mapping.items():
        if key.casefold() == folded:
            return value
    return None


def map_status(name: str | None, category: str | None, options: JiraOptions) -> str:
    for mapping in (options.status_mapping, DEFAULT_STATUS_MAPPING):
        found = lookup(mapping, name) if name else None
        if found:
            return found
    return CATEGORY_STATUS.get(category or "", FALLBACK_STATUS)


def map_priority(name: str | None, options: JiraOptions) -> str:
    if not name:
        return UNKNOWN_PRIORITY
    for mapping in (options.priority_mapping, DEFAULT_PRIORITY_MAPPING):
        found = lookup(mapping, name)
        if found:
            return found
    return UNKNOWN_PRIORITY


def parse_jira_time(value: Any) -> datetime | None:
    """``2024-01-31T12:34:56.789+0000`` (and ISO variants) -> aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:  # Python 3.11 reads Jira's form (offset without colon, "Z") as it comes
        parsed = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        if parsed.tzinfo is UTC:
            return parsed
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def parse_jira_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def issue_from_jira(
    issue: Mapping[str, Any], *, base_url: str, options: JiraOptions, scope: str = ""
) -> NormalizedIssue:
    """``scope`` (the connection id) lets the identifier written at create time be read back
    from the ``ticketbridge`` entity property (requested with ``SYNC_PROPERTIES``)."""
    fields = _obj(issue.get("fields"))
    key = str(issue.get("key") or "")
    status = _obj(fields.get("status"))
    category = _obj(status.get("statusCategory")).get("key")
    status_name = status.get("name")
    priority_name = _obj(fields.get("priority")).get("name")
    issuetype = _obj(fields.get("issuetype"))
    project = _obj(fields.get("project"))
    updated = parse_jira_time(fields.get("updated"))
    description = fields.get("description")
    if isinstance(description, str):  # a v2-style plain string (never from v3, but harmless)
        markdown: str | None = description or None
    else:
        markdown = adf_to_markdown(description) if isinstance(description, dict) else None
    return NormalizedIssue(
        vendor_id=str(issue.get("id")),
        vendor_key=key,
        name=str(fields.get("summary") or ""),
        description=markdown,
        status=map_status(status_name, category, options),
        priority=map_priority(priority_name, options),
        type=issuetype.get("name"),
        type_vendor_id=_str_or_none(issuetype.get("id")),
        project_vendor_id=_str_or_none(project.get("key")),
        project_vendor_numeric_id=_str_or_none(project.get("id")),
        assigned_user_vendor_id=_obj(fields.get("assignee")).get("accountId"),
        created_by_vendor_id=_obj(fields.get("reporter")).get("accountId"),
        parent_ticket_vendor_id=_obj(fields.get("parent")).get("key"),
        url=f"{base_url.rstrip('/')}/browse/{key}" if key else None,
        # Marker labels (our exactly-once bookkeeping) are not the caller's tags.
        tags=tuple(visible_tags(str(label) for label in fields.get("labels") or ())),
        due_date=parse_jira_date(fields.get("duedate")),
        ticket_created_at=parse_jira_time(fields.get("created")),
        status_updated_at=parse_jira_time(fields.get("statuscategorychangedate")) or updated,
        closed_at=parse_jira_time(fields.get("resolutiondate")) if category == "done" else None,
        vendor_updated_at=updated,
        status_category=category,
        vendor_status_name=status_name,
        vendor_priority_name=priority_name,
        custom_fields={
            k: v for k, v in fields.items() if k.startswith("customfield_") and v is not None
        },
        people=tuple(
            user_from_jira(person)
            for person in (fields.get("assignee"), fields.get("reporter"))
            if isinstance(person, dict) and person.get("accountId")
        ),
        identifier=identifier_from(
            scope,
            _obj(issue.get("properties")).get(MARKER_PROPERTY_KEY),
            (str(label) for label in fields.get("labels") or ()),
        ),
        vendor=VENDOR_NAME,
    )


def project_from_jira(project: Mapping[str, Any]) -> NormalizedProject:
    description = project.get("description")
    return NormalizedProject(
        vendor_id=str(project.get("id")),
        key=str(project.get("key")),
        name=str(project.get("name") or project.get("key")),
        project_type=project.get("projectTypeKey"),
        description=description if isinstance(description, str) and description else None,
        vendor=VENDOR_NAME,
    )


def issue_type_from_jira(issue_type: Mapping[str, Any]) -> NormalizedIssueType:
    return NormalizedIssueType(
        vendor_id=str(issue_type.get("id")),
        name=str(issue_type.get("name") or ""),
        description=issue_type.get("description") or None,
        subtask=bool(issue_type.get("subtask", False)),
    )


def user_from_jira(user: Mapping[str, Any]) -> NormalizedUser:
    return NormalizedUser(
        vendor_id=str(user.get("accountId")),
        name=user.get("displayName"),
        # Jira hides emails by privacy setting; an empty string means "hidden".
        email=user.get("emailAddress") or None,
        status="ACTIVE" if user.get("active", True) else "INACTIVE",
        account_type=user.get("accountType"),
        vendor=VENDOR_NAME,
    )
