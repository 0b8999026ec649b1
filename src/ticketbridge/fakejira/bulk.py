"""Bulk operations: ``POST /bulk/issues/transition``, ``POST /bulk/issues/fields`` and
``GET /bulk/queue/{taskId}``.

A submission is validated up front (a malformed payload is a 400 in the
``BulkOperationErrorResponse`` envelope) and becomes a task that completes ``bulk_delay_ms``
after submission (see :mod:`faults`; 0 = at once). There are no background threads: every
request to the site first runs the tasks that are due (:meth:`BulkTasks.pump`), so a task's
writes become visible on time whether or not anyone polls. Before that a task reports
``ENQUEUED`` (first half of the delay) then ``RUNNING`` with a progress estimate.

Per-issue failures (an unavailable transition, a value invalid for that issue) land in
``failedAccessibleIssues``, keyed by issue id as the schema describes; unknown issues only count
towards ``invalidOrInaccessibleIssueCount``. Timestamps are ``date-time`` strings as the schema
says (Atlassian's own example shows epoch milliseconds; clients should accept both).

Bulk edit reads ``editedFieldsInput`` (schema ``JiraIssueFields``) for: ``summary`` and string
custom fields (``singleLineTextFields``), ``priority`` (``priority.priorityId``), ``labels``
(``labelsFields`` with ADD/REMOVE/REPLACE/REMOVE_ALL), ``assignee``/``reporter``
(``singleSelectClearableUserPickerFields``; no ``user`` clears), ``duedate`` and date custom
fields (``datePickerFields.date.formattedDate`` as ``YYYY-MM-DD``; no ``date`` clears),
``description`` (``richTextFields.richText.adfValue``) and number custom fields
(``clearableNumberFields``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import JiraError
from .model import Issue, jira_time
from .render import user_json
from .validation import IssueInput, check_label

if TYPE_CHECKING:
    from .state import Site

MAX_BULK_ISSUES = 1000
_TEXT_FIELDS = ("summary",)
_USER_FIELDS = ("assignee", "reporter")


@dataclass
class BulkTask:
    task_id: str
    submitted_by: str | None
    created: int
    due: int
    refs: list[tuple[str, Callable[[Issue], None]]]
    status: str = "ENQUEUED"
    started: int | None = None
    updated: int = 0
    processed: list[int] = field(default_factory=list)
    failed: dict[str, list[str]] = field(default_factory=dict)
    invalid: int = 0


class BulkTasks:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.tasks: dict[str, BulkTask] = {}
        self._next_id = 10000

    # -- submission ----------------------------------------------------------------------------
    def submit(
        self, refs: list[tuple[str, Callable[[Issue], None]]], submitted_by: str | None
    ) -> BulkTask:
        now = self.site.now_ms()
        delay = self.site.faults.config.bulk_delay_ms
        task = BulkTask(str(self._next_id), submitted_by, now, now + delay, refs, updated=now)
        self._next_id += 1
        self.tasks[task.task_id] = task
        self.pump()
        return task

    def submit_transitions(self, body: object, submitted_by: str | None) -> BulkTask:
        if not isinstance(body, Mapping) or not isinstance(body.get("bulkTransitionInputs"), list):
            raise JiraError(400, "bulkTransitionInputs is required.")
        refs: list[tuple[str, Callable[[Issue], None]]] = []
        for group in body["bulkTransitionInputs"]:
            if not isinstance(group, Mapping):
                raise JiraError(400, "Each bulk transition input must be an object.")
            keys, transition_id = group.get("selectedIssueIdsOrKeys"), group.get("transitionId")
            if not _string_list(keys) or not keys or transition_id is None:
                raise JiraError(400, "selectedIssueIdsOrKeys and transitionId are required.")
            refs.extend((str(k), self._transition(str(transition_id))) for k in keys)
        if not refs:
            raise JiraError(400, "bulkTransitionInputs must not be empty.")
        _check_size(len(refs))
        return self.submit(refs, submitted_by)

    def _transition(self, transition_id: str) -> Callable[[Issue], None]:
        return lambda issue: self.site.transition_issue(issue, transition_id)

    def submit_edit(self, body: object, submitted_by: str | None) -> BulkTask:
        if not isinstance(body, Mapping):
            raise JiraError(400, "The request body must be an object.")
        keys, actions = body.get("selectedIssueIdsOrKeys"), body.get("selectedActions")
        edited = body.get("editedFieldsInput")
        if not _string_list(keys) or not keys:
            raise JiraError(400, "selectedIssueIdsOrKeys must list at least one issue.")
        if not _string_list(actions) or not actions:
            raise JiraError(400, "selectedActions must list at least one field.")
        if not isinstance(edited, Mapping):
            raise JiraError(400, "editedFieldsInput is required.")
        _check_size(len(keys))
        fields, label_ops = _edit_body(actions, edited)
        probe = next((i for i in map(self.site.find_issue, keys) if i is not None), None)
        if probe is not None:  # values invalid for any issue are refused up front, like Jira
            IssueInput(self.site, {"fields": fields}, api_version=3, issue=probe).for_edit()

        def edit(issue: Issue) -> None:
            update = {"labels": label_ops} if label_ops is not None else {}
            self.site.edit_issue(issue, {"fields": fields, "update": update})

        return self.submit([(str(k), edit) for k in keys], submitted_by)

    # -- execution -----------------------------------------------------------------------------
    def pump(self) -> None:
        """Run every task that is due (called at the start of each request to the site)."""
        now = self.site.now_ms()
        for task in self.tasks.values():
            if task.status in ("ENQUEUED", "RUNNING") and task.due <= now:
                self._run(task, now)

    def _run(self, task: BulkTask, now: int) -> None:
        task.started = task.started or now
        for ref, action in task.refs:
            issue = self.site.find_issue(ref)
            if issue is None:
                task.invalid += 1
                continue
            try:
                action(issue)
            except JiraError as exc:
                task.failed[str(issue.id)] = exc.messages + list(exc.errors.values())
            else:
                task.processed.append(issue.id)
        task.status = "COMPLETE"
        task.updated = now
        task.refs = []

    def progress(self, task_id: str, base: str) -> dict[str, Any]:
        self.pump()
        task = self.tasks.get(task_id)
        if task is None:
            raise JiraError(404, f"Task with id {task_id} was not found.")
        now = self.site.now_ms()
        percent = 100
        if task.status != "COMPLETE":
            span = max(1, task.due - task.created)
            elapsed = now - task.created
            task.status = "ENQUEUED" if elapsed * 2 < span else "RUNNING"
            percent = min(99, int(100 * elapsed / span)) if task.status == "RUNNING" else 0
            if task.status == "RUNNING" and task.started is None:
                task.started = now
        total = len(task.refs) or (len(task.processed) + len(task.failed) + task.invalid)
        data: dict[str, Any] = {
            "taskId": task.task_id,
            "status": task.status,
            "progressPercent": percent,
            "processedAccessibleIssues": list(task.processed),
            "failedAccessibleIssues": {k: list(v) for k, v in task.failed.items()},
            "invalidOrInaccessibleIssueCount": task.invalid,
            "totalIssueCount": total,
            "created": jira_time(task.created),
            "updated": jira_time(max(task.updated, now if task.status != "COMPLETE" else 0)),
        }
        if task.started is not None:
            data["started"] = jira_time(task.started)
        user = self.site.users.get(task.submitted_by or "")
        if user is not None:
            data["submittedBy"] = user_json(base, user)
        return data


def _string_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str | int) for v in value)


def _check_size(count: int) -> None:
    if count > MAX_BULK_ISSUES:
        raise JiraError(
            400, f"A bulk operation accepts at most {MAX_BULK_ISSUES} issues; {count} were given."
        )


def _by_field(edited: Mapping[str, Any], group: str) -> dict[str, Mapping[str, Any]]:
    items = edited.get(group) or []
    if not isinstance(items, list):
        raise JiraError(400, f"editedFieldsInput.{group} must be a list.")
    return {str(i.get("fieldId")): i for i in items if isinstance(i, Mapping)}


def _edit_body(
    actions: list[str], edited: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """``selectedActions`` + ``editedFieldsInput`` as a plain ``fields`` dict and label ops."""
    text = _by_field(edited, "singleLineTextFields")
    users = _by_field(edited, "singleSelectClearableUserPickerFields")
    dates = _by_field(edited, "datePickerFields")
    rich = _by_field(edited, "richTextFields")
    numbers = _by_field(edited, "clearableNumberFields")
    labels = _by_field(edited, "labelsFields")
    fields: dict[str, Any] = {}
    label_ops: list[dict[str, Any]] | None = None
    for action in dict.fromkeys(actions):
        missing = JiraError(400, f"No value was provided in editedFieldsInput for '{action}'.")
        if action == "priority":
            priority = edited.get("priority")
            if not isinstance(priority, Mapping) or "priorityId" not in priority:
                raise missing
            fields["priority"] = {"id": str(priority["priorityId"])}
        elif action == "labels":
            if "labels" not in labels:
                raise missing
            spec = labels["labels"]
            names = [x.get("name") for x in spec.get("labels") or [] if isinstance(x, Mapping)]
            option = spec.get("bulkEditMultiSelectFieldOption")
            if option == "REPLACE":
                fields["labels"] = names
            elif option == "REMOVE_ALL":
                fields["labels"] = []
            elif option in ("ADD", "REMOVE"):
                verb = option.lower()
                label_ops = [{verb: n} for n in names]
                problem = next((p for p in map(check_label, names) if p), None)
                if problem:
                    raise JiraError(400, None, {"labels": problem})
            else:
                raise JiraError(
                    400,
                    "bulkEditMultiSelectFieldOption must be ADD, REMOVE, REPLACE or REMOVE_ALL.",
                )
        elif action in text:
            fields[action] = text[action].get("text")
        elif action in users:
            user = users[action].get("user")
            fields[action] = (
                {"accountId": user.get("accountId")} if isinstance(user, Mapping) else None
            )
        elif action in dates:
            date = dates[action].get("date")
            fields[action] = date.get("formattedDate") if isinstance(date, Mapping) else None
        elif action in rich:
            rich_text = rich[action].get("richText")
            fields[action] = rich_text.get("adfValue") if isinstance(rich_text, Mapping) else None
        elif action in numbers:
            fields[action] = numbers[action].get("value")
        elif (
            action in _TEXT_FIELDS or action in _USER_FIELDS or action in ("duedate", "description")
        ):
            raise missing
        else:
            raise JiraError(400, f"The field '{action}' can't be bulk edited.")
    return fields, label_ops
