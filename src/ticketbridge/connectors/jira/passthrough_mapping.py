"""Jira payloads -> passthrough results, and the field plan of a passthrough search.

The normalized view of an issue reuses the sync's ``issue_from_jira``, so a passthrough item
and a synced ticket read the same for the same issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ticketbridge.connectors.base import LiveProject, LiveUser
from ticketbridge.connectors.jira.mapping import issue_type_from_jira, user_from_jira

# What ``issue_from_jira`` reads. Custom fields are not in the default set: on a real site
# ``*navigable`` returns hundreds of them (mostly null) and would dominate the payload; a caller
# who wants them asks with ``fields=`` and gets them in both views.
NORMALIZED_FIELDS: tuple[str, ...] = (
    "summary",
    "description",
    "status",
    "priority",
    "issuetype",
    "project",
    "assignee",
    "reporter",
    "parent",
    "labels",
    "duedate",
    "created",
    "updated",
    "statuscategorychangedate",
    "resolutiondate",
)
WILDCARDS = frozenset({"*all", "*navigable"})
_NEEDED = frozenset(NORMALIZED_FIELDS)


@dataclass(frozen=True)
class FieldPlan:
    """Which fields to ask Jira for, and which of them the caller sees in ``vendor.fields``.

    Jira is always asked for the normalized view's fields too; a caller's ``-summary`` is
    therefore applied here, on the answer, instead of being sent.
    """

    request: tuple[str, ...]
    explicit: frozenset[str]
    wildcard: bool
    excluded: frozenset[str]

    @classmethod
    def of(cls, fields: Sequence[str] | None) -> FieldPlan:
        if fields is None:
            return cls(NORMALIZED_FIELDS, _NEEDED, False, frozenset())
        excluded = frozenset(f[1:] for f in fields if f.startswith("-"))
        sent = [f for f in fields if f != "*none" and not (f.startswith("-") and f[1:] in _NEEDED)]
        return cls(
            request=tuple(dict.fromkeys([*sent, *NORMALIZED_FIELDS])),
            explicit=frozenset(f for f in fields if not f.startswith(("-", "*"))),
            wildcard=any(f in WILDCARDS for f in fields),
            excluded=excluded,
        )

    def visible(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: value
            for name, value in fields.items()
            if (self.wildcard or name in self.explicit) and name not in self.excluded
        }


def live_project_from_jira(project: Mapping[str, Any], *, with_issue_types: bool) -> LiveProject:
    issue_types = None
    if with_issue_types:
        issue_types = tuple(issue_type_from_jira(t) for t in project.get("issueTypes") or ())
    return LiveProject(
        key=str(project.get("key")),
        id=str(project.get("id")),
        name=str(project.get("name") or project.get("key")),
        project_type=project.get("projectTypeKey"),
        issue_types=issue_types,
    )


def live_user_from_jira(user: Mapping[str, Any]) -> LiveUser:
    normalized = user_from_jira(user)
    return LiveUser(
        vendor_id=normalized.vendor_id,
        name=normalized.name,
        email=normalized.email,
        active=normalized.status == "ACTIVE",
    )


def vendor_issue(issue: Mapping[str, Any], plan: FieldPlan) -> dict[str, Any]:
    fields = issue.get("fields")
    return {
        "key": issue.get("key"),
        "id": issue.get("id"),
        "fields": plan.visible(fields) if isinstance(fields, Mapping) else {},
    }
