"""Validation of issue field input (create, edit, transition screens, bulk create).

Turns a request's ``fields`` and ``update`` into attribute changes for :class:`model.Issue`, or
raises :class:`JiraError` 400 with Jira's ``{"errorMessages", "errors": {field: message}}``.
As in Jira, a missing or unknown project or issue type is reported alone (nothing else can be
checked without them); every other problem is collected and reported together.

Deliberate simplifications: there are no screens or field configurations, so every known field
is settable on create and edit; any ``customfield_NNNNN`` is accepted and round-tripped even when
``GET /field`` does not list it (declared custom fields get a light type check); ``update``
supports ``set`` for every field and ``add``/``remove`` for labels only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import BODY_NOT_AN_OBJECT, JiraError, cannot_set
from .model import (
    FIELDS_BY_ID,
    ISSUE_TYPES_BY_ID,
    PRIORITIES,
    RESOLUTIONS,
    Issue,
    IssueType,
    Project,
)
from .text import adf_to_text, is_adf_doc, text_to_adf

if TYPE_CHECKING:
    from .state import Site

SUMMARY_REQUIRED = "You must specify a summary of the issue."
ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
STRING_REQUIRED = "Operation value must be a string"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CUSTOM = re.compile(r"^customfield_\d+$")


def parse_date(value: object) -> str | None:
    """A ``YYYY-MM-DD`` string, validated; ``None`` if it is not one."""
    if not isinstance(value, str) or not _DATE.match(value):
        return None
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return None
    return value


def check_label(label: object) -> str | None:
    """The error message for an invalid label, or ``None``."""
    if not isinstance(label, str) or not label:
        return "Labels must be non-empty strings."
    if any(ch.isspace() for ch in label):
        return f"The label '{label}' contains spaces which is invalid."
    if len(label) > 255:
        return f"The label '{label}' exceeds the maximum length of 255 characters."
    return None


class IssueInput:
    """One ``IssueUpdateDetails`` body checked against a site (and the issue, when editing)."""

    def __init__(
        self,
        site: Site,
        body: object,
        *,
        api_version: int,
        issue: Issue | None = None,
        allow_resolution: bool = False,
    ) -> None:
        if not isinstance(body, Mapping):
            raise JiraError(400, BODY_NOT_AN_OBJECT)
        self.site = site
        self.api_version = api_version
        self.issue = issue
        self.allow_resolution = allow_resolution
        self.errors: dict[str, str] = {}
        self.changes: dict[str, Any] = {}
        self.custom: dict[str, Any] = {}
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        if not isinstance(fields, Mapping) or not isinstance(update, Mapping):
            raise JiraError(400, BODY_NOT_AN_OBJECT)
        self.values: dict[str, Any] = dict(fields)
        self._fold_update(update)

    # -- update operations -------------------------------------------------------------------
    def _fold_update(self, update: Mapping[str, Any]) -> None:
        """Reduce ``update: {field: [{op: value}]}`` to plain field values."""
        for name, ops in update.items():
            if name in self.values:
                self.errors[name] = f"Field '{name}' cannot be set in both 'fields' and 'update'."
                continue
            if not isinstance(ops, list):
                self.errors[name] = "Field operations must be a list."
                continue
            if name == "labels":
                current = list(self.issue.labels) if self.issue else []
                for op in ops:
                    current = self._label_op(op, current)
                self.values["labels"] = current
                continue
            for op in ops:
                if isinstance(op, Mapping) and set(op) == {"set"}:
                    self.values[name] = op["set"]
                else:
                    verb = next(iter(op), "?") if isinstance(op, Mapping) else "?"
                    self.errors[name] = f"Field '{name}' does not support operation '{verb}'."

    def _label_op(self, op: object, current: list[str]) -> list[str]:
        if not isinstance(op, Mapping) or len(op) != 1:
            self.errors["labels"] = "Each operation must have exactly one verb."
            return current
        verb, value = next(iter(op.items()))
        if verb == "set":
            return list(value) if isinstance(value, list) else current
        if verb == "add":
            return current if value in current else [*current, value]
        if verb == "remove":
            return [label for label in current if label != value]
        self.errors["labels"] = f"Field 'labels' does not support operation '{verb}'."
        return current

    # -- entry points --------------------------------------------------------------------------
    def for_create(self) -> tuple[Project, IssueType, dict[str, Any], dict[str, Any]]:
        project = self._project()
        issuetype = self._issuetype(project)
        if self.errors or project is None or issuetype is None:
            raise JiraError(400, None, self.errors)
        if not isinstance(self.values.get("summary"), str) or not self.values["summary"].strip():
            self.errors["summary"] = SUMMARY_REQUIRED
        self._check_parent(project, issuetype, required=issuetype.subtask)
        self._check_all(skip={"project", "issuetype", "parent"})
        if self.errors:
            raise JiraError(400, None, self.errors)
        return project, issuetype, self.changes, self.custom

    def for_edit(self) -> tuple[dict[str, Any], dict[str, Any]]:
        assert self.issue is not None
        issue = self.issue
        project = self.site.projects[issue.project_id]
        issuetype = issue.issuetype
        if "issuetype" in self.values:
            new_type = self._issuetype(project)
            if new_type is not None and (
                new_type.subtask != issuetype.subtask
                or new_type.hierarchy_level != issuetype.hierarchy_level
            ):
                self.errors["issuetype"] = "The issue type selected is invalid."
            elif new_type is not None:
                self.changes["issuetype_id"] = new_type.id
                issuetype = new_type
        if "summary" in self.values and (
            not isinstance(self.values["summary"], str) or not self.values["summary"].strip()
        ):
            self.errors["summary"] = SUMMARY_REQUIRED
        if "parent" in self.values:
            self._check_parent(project, issuetype, required=issuetype.subtask)
        if "project" in self.values:
            self.errors["project"] = cannot_set("project")
        self._check_all(skip={"project", "issuetype", "parent"})
        if self.errors:
            raise JiraError(400, None, self.errors)
        return self.changes, self.custom

    # -- individual fields ---------------------------------------------------------------------
    def _project(self) -> Project | None:
        ref = self.values.get("project")
        project = None
        if isinstance(ref, Mapping):
            project = self.site.find_project(str(ref.get("id") or ref.get("key") or ""))
        elif isinstance(ref, str):
            project = self.site.find_project(ref)
        if project is None:
            self.errors["project"] = "Specify a valid project ID or key"
        return project

    def _issuetype(self, project: Project | None) -> IssueType | None:
        ref = self.values.get("issuetype")
        if ref is None:
            self.errors["issuetype"] = "Specify an issue type"
            return None
        found: IssueType | None = None
        if isinstance(ref, Mapping):
            if ref.get("id") is not None:
                found = ISSUE_TYPES_BY_ID.get(str(ref["id"]))
            elif ref.get("name") is not None:
                found = next((t for t in ISSUE_TYPES_BY_ID.values() if t.name == ref["name"]), None)
        if found is None:
            self.errors["issuetype"] = "The issue type selected is invalid."
        return found

    def _check_parent(self, project: Project, issuetype: IssueType, *, required: bool) -> None:
        ref = self.values.get("parent")
        if ref is None:
            if required:
                self.errors["issuetype"] = (
                    "Issue type is a sub-task but parent issue key or id not specified."
                )
            else:
                self.changes["parent_id"] = None
            return
        if not isinstance(ref, Mapping):
            self.errors["parent"] = "data was not an object"
            return
        parent = self.site.find_issue(str(ref.get("key") or ref.get("id") or ""))
        if parent is None:
            self.errors["parent"] = "Could not find issue by id or key."
            return
        kind = parent.issuetype
        ok = (issuetype.subtask and not kind.subtask and parent.project_id == project.id) or (
            not issuetype.subtask and kind.hierarchy_level == issuetype.hierarchy_level + 1
        )
        if self.issue is not None and parent.id == self.issue.id:
            ok = False
        if not ok:
            self.errors["parent"] = "Given parent issue does not belong to appropriate hierarchy."
            return
        self.changes["parent_id"] = parent.id

    def _check_all(self, skip: set[str]) -> None:
        for name, value in self.values.items():
            if name in skip or name in self.errors:
                continue
            handler = getattr(self, f"_f_{name}", None)
            if handler is not None:
                handler(value)
            elif name == "resolution" and self.allow_resolution:
                self._resolution(value)
            elif _CUSTOM.match(name):
                self._custom_field(name, value)
            else:
                self.errors[name] = cannot_set(name)

    def _f_summary(self, value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            self.errors["summary"] = SUMMARY_REQUIRED
        elif len(value) > 255:
            self.errors["summary"] = "Summary must be less than 255 characters."
        elif "\n" in value or "\r" in value:
            self.errors["summary"] = (
                "The summary is invalid because it contains newline characters."
            )
        else:
            self.changes["summary"] = value

    def _f_description(self, value: Any) -> None:
        if value is None:
            self.changes["description"] = None
            self.changes["description_text"] = ""
        elif self.api_version >= 3:
            if not is_adf_doc(value):
                self.errors["description"] = ADF_REQUIRED
            else:
                self.changes["description"] = dict(value)
                self.changes["description_text"] = adf_to_text(value)
        elif not isinstance(value, str):
            self.errors["description"] = STRING_REQUIRED
        else:
            self.changes["description"] = text_to_adf(value) if value else None
            self.changes["description_text"] = value

    def _f_priority(self, value: Any) -> None:
        if value is None:
            self.changes["priority_id"] = None
            return
        if not isinstance(value, Mapping):
            self.errors["priority"] = "Specify the Priority (id or name) in the string format"
            return
        for p in PRIORITIES:
            if str(value.get("id")) == p.id or value.get("name") == p.name:
                self.changes["priority_id"] = p.id
                return
        self.errors["priority"] = "The priority selected is invalid."

    def _f_labels(self, value: Any) -> None:
        if value is None:
            value = []
        if not isinstance(value, list):
            self.errors["labels"] = "data was not an array"
            return
        for label in value:
            problem = check_label(label)
            if problem:
                self.errors["labels"] = problem
                return
        self.changes["labels"] = list(dict.fromkeys(value))

    def _f_duedate(self, value: Any) -> None:
        if value is None:
            self.changes["duedate"] = None
        elif parse_date(value) is None:
            self.errors["duedate"] = f"Error parsing date string: {value}"
        else:
            self.changes["duedate"] = value

    def _person(self, name: str, value: Any) -> None:
        if value is None:
            self.changes[name] = None
            return
        if not isinstance(value, Mapping):
            self.errors[name] = "data was not an object"
            return
        account_id = value.get("accountId")
        if account_id is None or (name == "assignee" and account_id == "-1"):
            # "-1" is "Automatic": the project's default assignee, which is nobody here.
            self.changes[name] = None
            return
        user = self.site.users.get(str(account_id))
        if user is None or not user.active:
            self.errors[name] = (
                "Specified user does not exist or you do not have required permissions"
                if user is None
                else f"User '{user.display_name}' cannot be assigned issues."
            )
        else:
            self.changes[name] = user.account_id

    def _f_assignee(self, value: Any) -> None:
        self._person("assignee", value)

    def _f_reporter(self, value: Any) -> None:
        self._person("reporter", value)

    def _resolution(self, value: Any) -> None:
        if value is None:
            self.changes["resolution_id"] = None
            return
        if isinstance(value, Mapping):
            for r in RESOLUTIONS:
                if str(value.get("id")) == r.id or value.get("name") == r.name:
                    self.changes["resolution_id"] = r.id
                    return
        self.errors["resolution"] = "The resolution selected is invalid."

    def _custom_field(self, name: str, value: Any) -> None:
        definition = FIELDS_BY_ID.get(name)
        kind = (definition.schema or {}).get("type") if definition else None
        if value is None or kind in (None, "any", "array"):
            self.custom[name] = value
        elif kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            self.custom[name] = value
        elif kind == "date" and parse_date(value) is not None:
            self.custom[name] = value
        elif kind == "string" and isinstance(value, str):
            self.custom[name] = value
        else:
            self.errors[name] = f"Operation value must be a {kind}"
