"""The emulator's data model: users, projects, issue types, priorities, workflow, issues.

Values mirror a fresh Jira Cloud site: numeric-string ids, the default priority scheme
(Highest=1 .. Lowest=5), the five standard issue types and two workflows.

Workflows (chosen per project, :data:`WORKFLOWS`):

- ``default``: Jira Cloud's default for new company-managed software projects. To Do, In
  Progress, Done; every status can move to every *other* status through a global transition
  named after its target (``11`` To Do, ``21`` In Progress, ``31`` Done).
- ``classic``: a restricted version of Jira's classic workflow, so that some statuses are
  several transitions apart: Open -> In Progress (``4`` Start Progress, also from Reopened),
  In Progress -> Open (``301`` Stop Progress), In Progress -> Resolved (``5`` Resolve Issue),
  Resolved -> Closed (``2`` Close Issue), Resolved/Closed -> Reopened (``3`` Reopen Issue).

Entering a Done-category status sets resolution Done (unless the transition supplies another
one); leaving the category clears it. A project can put a screen with required fields on a
transition (:attr:`Project.screens`), as Jira's transition screens do.

Issues keep raw values (account ids, ids, ADF) rather than rendered JSON; :mod:`render`
builds Jira's response shapes and :meth:`Issue.doc` the JQL "search document".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

JIRA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def jira_time(ms: int) -> str:
    """Epoch milliseconds as Jira renders timestamps: ``2024-01-31T12:34:56.789+0000``."""
    stamp = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return f"{stamp.strftime(JIRA_TIME_FORMAT)}.{ms % 1000:03d}+0000"


@dataclass(slots=True)
class User:
    account_id: str
    display_name: str
    email: str
    active: bool = True
    api_token: str | None = None
    time_zone: str = "Etc/UTC"
    account_type: str = "atlassian"


@dataclass(frozen=True, slots=True)
class IssueType:
    id: str
    name: str
    description: str
    subtask: bool
    hierarchy_level: int
    avatar_id: int


@dataclass(frozen=True, slots=True)
class Priority:
    id: str
    name: str
    color: str


@dataclass(frozen=True, slots=True)
class StatusCategory:
    id: int
    key: str
    name: str
    color: str


@dataclass(frozen=True, slots=True)
class Status:
    id: str
    name: str
    description: str
    category: StatusCategory


@dataclass(frozen=True, slots=True)
class Transition:
    id: str
    name: str
    to: Status
    # The statuses it leaves from; ``None`` is a global transition (from every other status).
    sources: tuple[str, ...] | None = None

    def leaves(self, status_id: str) -> bool:
        if self.sources is None:
            return self.to.id != status_id
        return status_id in self.sources


@dataclass(frozen=True, slots=True)
class Workflow:
    name: str
    initial: Status
    statuses: tuple[Status, ...]
    transitions: tuple[Transition, ...]

    def transitions_from(self, status_id: str) -> list[Transition]:
        return [t for t in self.transitions if t.leaves(status_id)]

    def transition(self, transition_id: str) -> Transition | None:
        return next((t for t in self.transitions if t.id == transition_id), None)


@dataclass(frozen=True, slots=True)
class Resolution:
    id: str
    name: str
    description: str


@dataclass(slots=True)
class Project:
    id: str
    key: str
    name: str
    lead_account_id: str
    simplified: bool = False
    description: str = ""
    next_number: int = 1
    workflow: str = "default"
    # Transition id -> field ids its screen requires.
    screens: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def style(self) -> str:
        return "next-gen" if self.simplified else "classic"


@dataclass(frozen=True, slots=True)
class FieldDef:
    """A field as ``GET /field`` lists it; ``schema`` is Jira's ``JsonTypeBean``."""

    id: str
    name: str
    schema: dict[str, Any] | None
    clause_names: tuple[str, ...]
    custom: bool = False
    navigable: bool = True
    orderable: bool = True
    searchable: bool = True


CAT_NEW = StatusCategory(2, "new", "To Do", "blue-gray")
CAT_INDETERMINATE = StatusCategory(4, "indeterminate", "In Progress", "yellow")
CAT_DONE = StatusCategory(3, "done", "Done", "green")
STATUS_CATEGORIES = (CAT_NEW, CAT_INDETERMINATE, CAT_DONE)

TODO = Status("10000", "To Do", "", CAT_NEW)
IN_PROGRESS = Status(
    "3", "In Progress", "This issue is being actively worked on.", CAT_INDETERMINATE
)
DONE = Status("10001", "Done", "", CAT_DONE)
OPEN = Status(
    "1", "Open", "The issue is open and ready for the assignee to start work on it.", CAT_NEW
)
REOPENED = Status(
    "4", "Reopened", "This issue was once resolved, but the resolution was wrong.", CAT_NEW
)
RESOLVED = Status(
    "5", "Resolved", "A resolution has been taken, and it is awaiting verification.", CAT_DONE
)
CLOSED = Status("6", "Closed", "The issue is considered finished.", CAT_DONE)
STATUSES = {s.id: s for s in (TODO, IN_PROGRESS, DONE, OPEN, REOPENED, RESOLVED, CLOSED)}
INITIAL_STATUS = TODO

TRANSITIONS = (
    Transition("11", "To Do", TODO),
    Transition("21", "In Progress", IN_PROGRESS),
    Transition("31", "Done", DONE),
)
TRANSITIONS_BY_ID = {t.id: t for t in TRANSITIONS}
CLASSIC_TRANSITIONS = (
    Transition("4", "Start Progress", IN_PROGRESS, (OPEN.id, REOPENED.id)),
    Transition("301", "Stop Progress", OPEN, (IN_PROGRESS.id,)),
    Transition("5", "Resolve Issue", RESOLVED, (IN_PROGRESS.id,)),
    Transition("2", "Close Issue", CLOSED, (RESOLVED.id,)),
    Transition("3", "Reopen Issue", REOPENED, (RESOLVED.id, CLOSED.id)),
)
DEFAULT_WORKFLOW = Workflow("default", TODO, (TODO, IN_PROGRESS, DONE), TRANSITIONS)
CLASSIC_WORKFLOW = Workflow(
    "classic", OPEN, (OPEN, IN_PROGRESS, RESOLVED, CLOSED, REOPENED), CLASSIC_TRANSITIONS
)
WORKFLOWS = {w.name: w for w in (DEFAULT_WORKFLOW, CLASSIC_WORKFLOW)}

RESOLUTIONS = (
    Resolution("10000", "Done", "Work has been completed on this issue."),
    Resolution("10001", "Won't Do", "This issue won't be actioned."),
    Resolution("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
    Resolution("10003", "Cannot Reproduce", "All attempts at reproducing this issue failed."),
)
RESOLUTIONS_BY_ID = {r.id: r for r in RESOLUTIONS}
RESOLUTION_DONE = RESOLUTIONS[0]

PRIORITIES = (
    Priority("1", "Highest", "#d04437"),
    Priority("2", "High", "#f15C75"),
    Priority("3", "Medium", "#f79232"),
    Priority("4", "Low", "#707070"),
    Priority("5", "Lowest", "#999999"),
)
PRIORITIES_BY_ID = {p.id: p for p in PRIORITIES}
DEFAULT_PRIORITY = PRIORITIES[2]

EPIC = IssueType("10000", "Epic", "A big user story that needs to be broken down.", False, 1, 10307)
TASK = IssueType("10001", "Task", "A small, distinct piece of work.", False, 0, 10318)
SUBTASK = IssueType(
    "10002", "Sub-task", "A small piece of work that's part of a larger task.", True, -1, 10316
)
STORY = IssueType(
    "10003", "Story", "Functionality or a feature expressed as a user goal.", False, 0, 10315
)
BUG = IssueType("10004", "Bug", "A problem or error.", False, 0, 10303)
ISSUE_TYPES = (TASK, SUBTASK, STORY, BUG, EPIC)
ISSUE_TYPES_BY_ID = {t.id: t for t in ISSUE_TYPES}


def _system(
    fid: str,
    name: str,
    schema_type: str | None,
    *,
    items: str | None = None,
    clauses: tuple[str, ...] | None = None,
    orderable: bool = True,
    searchable: bool = True,
) -> FieldDef:
    schema: dict[str, Any] | None = None
    if schema_type is not None:
        schema = {"type": schema_type, "system": fid}
        if items is not None:
            schema["items"] = items
    return FieldDef(
        fid, name, schema, clauses or (fid,), orderable=orderable, searchable=searchable
    )


def _custom(
    num: int, name: str, schema_type: str, custom: str, *, items: str | None = None
) -> FieldDef:
    schema: dict[str, Any] = {"type": schema_type, "custom": custom, "customId": num}
    if items is not None:
        schema["items"] = items
    fid = f"customfield_{num}"
    return FieldDef(fid, name, schema, (fid, f"cf[{num}]", name), custom=True)


# The fields the emulator stores and renders (``*all``). All are navigable here; real Jira
# also has non-navigable ones (comment, worklog...) that the emulator does not model.
SYSTEM_FIELDS = (
    _system("summary", "Summary", "string"),
    _system("description", "Description", "string"),
    _system("status", "Status", "status", orderable=False),
    _system("priority", "Priority", "priority"),
    _system("labels", "Labels", "array", items="string"),
    _system("duedate", "Due date", "date", clauses=("due", "duedate")),
    _system("assignee", "Assignee", "user"),
    _system("reporter", "Reporter", "user"),
    _system("parent", "Parent", None, clauses=("parent",)),
    _system("issuetype", "Issue Type", "issuetype", clauses=("issuetype", "type")),
    _system("project", "Project", "project"),
    _system("created", "Created", "datetime", clauses=("created", "createdDate"), orderable=False),
    _system("updated", "Updated", "datetime", clauses=("updated", "updatedDate"), orderable=False),
    _system("resolution", "Resolution", "resolution"),
    _system(
        "resolutiondate",
        "Resolved",
        "datetime",
        clauses=("resolutiondate", "resolved"),
        orderable=False,
    ),
    _system(
        "statuscategorychangedate",
        "Status Category Changed",
        "datetime",
        clauses=("statusCategoryChangedDate",),
        orderable=False,
    ),
    _system(
        "subtasks", "Sub-tasks", "array", items="issuelinks", clauses=("subtasks",), orderable=False
    ),
)
CUSTOM_FIELDS = (
    _custom(
        10015, "Start date", "date", "com.atlassian.jira.plugin.system.customfieldtypes:datepicker"
    ),
    _custom(
        10016,
        "Story point estimate",
        "number",
        "com.atlassian.jira.plugin.system.customfieldtypes:float",
    ),
    _custom(10019, "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
    _custom(10020, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint", items="json"),
    _custom(
        10030,
        "Customer reference",
        "string",
        "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
    ),
)
FIELDS = SYSTEM_FIELDS + CUSTOM_FIELDS
FIELDS_BY_ID = {f.id: f for f in FIELDS}
SYSTEM_FIELD_IDS = tuple(f.id for f in SYSTEM_FIELDS)


@dataclass(slots=True)
class Issue:
    """One stored issue. Times are epoch milliseconds; people are account ids."""

    id: int
    key: str
    project_id: str
    issuetype_id: str
    summary: str
    status_id: str = INITIAL_STATUS.id
    description: dict[str, Any] | None = None
    description_text: str = ""
    priority_id: str | None = DEFAULT_PRIORITY.id
    labels: list[str] = field(default_factory=list)
    duedate: str | None = None
    assignee: str | None = None
    reporter: str | None = None
    parent_id: int | None = None
    resolution_id: str | None = None
    resolutiondate: int | None = None
    created: int = 0
    updated: int = 0
    statuscategorychangedate: int = 0
    custom: dict[str, Any] = field(default_factory=dict)
    # Issue entity properties (key -> JSON value), set by ``properties`` on create.
    properties: dict[str, Any] = field(default_factory=dict)
    # The JQL search document; ``None`` means stale, rebuilt on next use.
    search_doc: dict[str, Any] | None = None

    @property
    def status(self) -> Status:
        return STATUSES[self.status_id]

    @property
    def issuetype(self) -> IssueType:
        return ISSUE_TYPES_BY_ID[self.issuetype_id]
