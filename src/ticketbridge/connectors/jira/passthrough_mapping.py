"""Jira payloads -> passthrough results, and the field plan of a passthrough search.

Passthrough answers in Jira's own shape and names: the objects go out as Jira sent them, with
only a ``vendor_id`` helper added (the id ticket creation accepts). The optional normalized
view of an issue reuses the sync's ``issue_from_jira``, so a passthrough item and a synced
ticket read the same for the same issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ticketbridge.connectors.base import LiveProject, LiveRecord

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
    """Which fields to ask Jira for, and which of them the caller sees in ``fields``.

    Without the normalized view, Jira is asked for exactly the caller's fields and its answer
    goes out as is. With it, Jira is also asked for the normalized view's fields; a caller's
    ``-summary`` is then applied here, on the answer, instead of being sent.
    """

    request: tuple[str, ...]
    explicit: frozenset[str]
    wildcard: bool
    excluded: frozenset[str]
    filter: bool

    @classmethod
    def of(cls, fields: Sequence[str] | None, *, normalized: bool = False) -> FieldPlan:
        if fields is None:
            return cls(NORMALIZED_FIELDS, _NEEDED, False, frozenset(), False)
        if not normalized:
            return cls(tuple(fields), frozenset(), True, frozenset(), False)
        excluded = frozenset(f[1:] for f in fields if f.startswith("-"))
        sent = [f for f in fields if f != "*none" and not (f.startswith("-") and f[1:] in _NEEDED)]
        return cls(
            request=tuple(dict.fromkeys([*sent, *NORMALIZED_FIELDS])),
            explicit=frozenset(f for f in fields if not f.startswith(("-", "*"))),
            wildcard=any(f in WILDCARDS for f in fields),
            excluded=excluded,
            filter=True,
        )

    def visible(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        if not self.filter:
            return dict(fields)
        return {
            name: value
            for name, value in fields.items()
            if (self.wildcard or name in self.explicit) and name not in self.excluded
        }


def _record(obj: Mapping[str, Any], id_key: str) -> LiveRecord:
    return LiveRecord(vendor_id=str(obj.get(id_key)), data=dict(obj))


def issue_type_record(issue_type: Mapping[str, Any]) -> LiveRecord:
    return _record(issue_type, "id")


def user_record(user: Mapping[str, Any]) -> LiveRecord:
    return _record(user, "accountId")


def live_project_from_jira(project: Mapping[str, Any], *, with_issue_types: bool) -> LiveProject:
    data = dict(project)
    project_type = project.get("projectTypeKey")
    # Jira's embedded ``issueTypes`` go out as ``issue_types`` items (with their helper).
    raw_types = data.pop("issueTypes", None)
    issue_types = None
    if with_issue_types:
        issue_types = tuple(issue_type_record(t) for t in raw_types or ())
    return LiveProject(
        vendor_id=str(project.get("key")),
        data=data,
        project_type=None if project_type is None else str(project_type),
        issue_types=issue_types,
    )


def vendor_issue(issue: Mapping[str, Any], plan: FieldPlan) -> dict[str, Any]:
    """Jira's issue as it came (``expand``, ``id``, ``self``, ``key``, ...), its ``fields``
    limited to what the caller asked for."""
    fields = issue.get("fields")
    return {**issue, "fields": plan.visible(fields) if isinstance(fields, Mapping) else {}}
