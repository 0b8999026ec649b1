"""The tables the emulator knows and their columns (a small part of ServiceNow's dictionary).

Every value is stored as a string, as the Table API returns it. Column kinds decide how a
value is compared in queries (``integer`` and numeric choices numerically, the rest as text),
rendered (``reference`` as ``{link, value}``, ``choice`` labels from ``sys_choice``) and written.
``incident``, ``problem``, ``change_request`` and ``sc_req_item`` extend ``task``, as in
ServiceNow. Custom ``u_*`` columns are added to a table the first time a record is written with
one (ServiceNow needs them defined first; see docs/vendors/fakeservicenow.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

STRING = "string"
INTEGER = "integer"
BOOLEAN = "boolean"
DATETIME = "glide_date_time"
REFERENCE = "reference"
CHOICE = "choice"
JOURNAL = "journal"
PASSWORD = "password2"
SYS_ID = "GUID"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = STRING
    label: str = ""
    reference: str | None = None  # the referenced table, for REFERENCE columns
    numeric: bool = False  # choices with integer values (state, impact...) compare as numbers
    default: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass
class Table:
    name: str
    label: str
    columns: dict[str, Column]
    display: str = "sys_id"  # the column whose value is the record's display value
    number_prefix: str | None = None
    task: bool = False
    inactive_states: frozenset[str] = frozenset()
    custom: list[str] = field(default_factory=list)

    def column(self, name: str) -> Column | None:
        return self.columns.get(name)

    def add_custom(self, name: str) -> Column:
        found = self.columns.get(name)
        if found is None:
            found = self.columns[name] = Column(name, STRING, name)
            self.custom.append(name)
        return found


def _cols(*columns: Column) -> dict[str, Column]:
    return {c.name: c for c in columns}


SYSTEM = (
    Column("sys_id", SYS_ID, "Sys ID"),
    Column("sys_created_on", DATETIME, "Created"),
    Column("sys_created_by", STRING, "Created by"),
    Column("sys_updated_on", DATETIME, "Updated"),
    Column("sys_updated_by", STRING, "Updated by"),
    Column("sys_mod_count", INTEGER, "Updates", default="0"),
    Column("sys_tags", STRING, "Tags"),
)

TASK_COLUMNS = (
    *SYSTEM,
    Column("sys_class_name", STRING, "Task type"),
    Column("number", STRING, "Number"),
    Column("short_description", STRING, "Short description"),
    Column("description", STRING, "Description"),
    Column("state", CHOICE, "State", numeric=True, default="1"),
    Column("impact", CHOICE, "Impact", numeric=True, default="3"),
    Column("urgency", CHOICE, "Urgency", numeric=True, default="3"),
    Column("priority", CHOICE, "Priority", numeric=True, default="5"),
    Column("active", BOOLEAN, "Active", default="true"),
    Column("assigned_to", REFERENCE, "Assigned to", reference="sys_user"),
    Column("assignment_group", REFERENCE, "Assignment group", reference="sys_user_group"),
    Column("opened_by", REFERENCE, "Opened by", reference="sys_user"),
    Column("opened_at", DATETIME, "Opened"),
    Column("closed_by", REFERENCE, "Closed by", reference="sys_user"),
    Column("closed_at", DATETIME, "Closed"),
    Column("close_notes", STRING, "Close notes"),
    Column("parent", REFERENCE, "Parent", reference="task"),
    Column("correlation_id", STRING, "Correlation ID"),
    Column("correlation_display", STRING, "Correlation display"),
    Column("due_date", DATETIME, "Due date"),
    Column("work_notes", JOURNAL, "Work notes"),
    Column("comments", JOURNAL, "Additional comments"),
    Column("contact_type", CHOICE, "Channel"),
    Column("escalation", INTEGER, "Escalation", default="0"),
    Column("reassignment_count", INTEGER, "Reassignment count", default="0"),
)

INCIDENT = Table(
    "incident",
    "Incident",
    _cols(
        *TASK_COLUMNS,
        Column("caller_id", REFERENCE, "Caller", reference="sys_user"),
        Column("category", CHOICE, "Category", default="inquiry"),
        Column("subcategory", CHOICE, "Subcategory"),
        Column("close_code", CHOICE, "Resolution code"),
        Column("resolved_at", DATETIME, "Resolved"),
        Column("resolved_by", REFERENCE, "Resolved by", reference="sys_user"),
        Column("parent_incident", REFERENCE, "Parent Incident", reference="incident"),
        Column("problem_id", REFERENCE, "Problem", reference="problem"),
        Column("incident_state", CHOICE, "Incident state", numeric=True, default="1"),
        Column("severity", CHOICE, "Severity", numeric=True, default="3"),
        Column("reopen_count", INTEGER, "Reopen count", default="0"),
        Column("child_incidents", INTEGER, "Child Incidents", default="0"),
    ),
    display="number",
    number_prefix="INC",
    task=True,
    inactive_states=frozenset({"7", "8"}),
)

PROBLEM = Table(
    "problem",
    "Problem",
    _cols(
        *TASK_COLUMNS,
        Column("problem_statement", STRING, "Problem statement"),
        Column("category", CHOICE, "Category"),
        Column("known_error", BOOLEAN, "Known error", default="false"),
        Column("resolution_code", CHOICE, "Resolution code"),
        Column("cause_notes", STRING, "Cause notes"),
        Column("fix_notes", STRING, "Fix notes"),
    ),
    display="number",
    number_prefix="PRB",
    task=True,
    inactive_states=frozenset({"107"}),
)

CHANGE_REQUEST = Table(
    "change_request",
    "Change Request",
    _cols(
        *TASK_COLUMNS,
        Column("type", CHOICE, "Type", default="normal"),
        Column("category", CHOICE, "Category", default="Other"),
        Column("risk", CHOICE, "Risk", numeric=True, default="3"),
        Column("close_code", CHOICE, "Close code"),
        Column("start_date", DATETIME, "Planned start date"),
        Column("end_date", DATETIME, "Planned end date"),
    ),
    display="number",
    number_prefix="CHG",
    task=True,
    inactive_states=frozenset({"3", "4"}),
)

SC_REQ_ITEM = Table(
    "sc_req_item",
    "Requested Item",
    _cols(
        *TASK_COLUMNS,
        Column("quantity", INTEGER, "Quantity", default="1"),
        Column("stage", CHOICE, "Stage", default="request_approved"),
    ),
    display="number",
    number_prefix="RITM",
    task=True,
    inactive_states=frozenset({"3", "4", "7"}),
)

SYS_USER = Table(
    "sys_user",
    "User",
    _cols(
        *SYSTEM,
        Column("user_name", STRING, "User ID"),
        Column("first_name", STRING, "First name"),
        Column("last_name", STRING, "Last name"),
        Column("name", STRING, "Name"),
        Column("email", STRING, "Email"),
        Column("title", STRING, "Title"),
        Column("active", BOOLEAN, "Active", default="true"),
        Column("locked_out", BOOLEAN, "Locked out", default="false"),
        Column("web_service_access_only", BOOLEAN, "Web service access only", default="false"),
        Column("time_zone", CHOICE, "Time zone"),
        Column("user_password", PASSWORD, "Password"),
    ),
    display="name",
)

SYS_USER_GROUP = Table(
    "sys_user_group",
    "Group",
    _cols(
        *SYSTEM,
        Column("name", STRING, "Name"),
        Column("description", STRING, "Description"),
        Column("email", STRING, "Group email"),
        Column("manager", REFERENCE, "Manager", reference="sys_user"),
        Column("parent", REFERENCE, "Parent", reference="sys_user_group"),
        Column("active", BOOLEAN, "Active", default="true"),
        Column("type", STRING, "Type"),
    ),
    display="name",
)

SYS_USER_GRMEMBER = Table(
    "sys_user_grmember",
    "Group Member",
    _cols(
        *SYSTEM,
        Column("user", REFERENCE, "User", reference="sys_user"),
        Column("group", REFERENCE, "Group", reference="sys_user_group"),
    ),
)

SYS_USER_ROLE = Table(
    "sys_user_role",
    "Role",
    _cols(
        *SYSTEM,
        Column("name", STRING, "Name"),
        Column("description", STRING, "Description"),
    ),
    display="name",
)

SYS_USER_HAS_ROLE = Table(
    "sys_user_has_role",
    "User Role",
    _cols(
        *SYSTEM,
        Column("user", REFERENCE, "User", reference="sys_user"),
        Column("role", REFERENCE, "Role", reference="sys_user_role"),
        Column("state", STRING, "State", default="active"),
        Column("inherited", BOOLEAN, "Inherited", default="false"),
    ),
)

SYS_CHOICE = Table(
    "sys_choice",
    "Choices",
    _cols(
        *SYSTEM,
        Column("name", STRING, "Table"),
        Column("element", STRING, "Element"),
        Column("value", STRING, "Value"),
        Column("label", STRING, "Label"),
        Column("sequence", INTEGER, "Sequence", default="0"),
        Column("inactive", BOOLEAN, "Inactive", default="false"),
        Column("language", STRING, "Language", default="en"),
        Column("dependent_value", STRING, "Dependent value"),
    ),
    display="label",
)

SYS_AUDIT_DELETE = Table(
    "sys_audit_delete",
    "Deleted Records",
    _cols(
        *SYSTEM,
        Column("tablename", STRING, "Table"),
        Column("documentkey", STRING, "Document key"),
        Column("display_value", STRING, "Display value"),
    ),
)


def default_tables() -> dict[str, Table]:
    """Fresh table definitions (custom columns are per instance, so never share them)."""
    tables = (
        INCIDENT,
        PROBLEM,
        CHANGE_REQUEST,
        SC_REQ_ITEM,
        SYS_USER,
        SYS_USER_GROUP,
        SYS_USER_GRMEMBER,
        SYS_USER_ROLE,
        SYS_USER_HAS_ROLE,
        SYS_CHOICE,
        SYS_AUDIT_DELETE,
    )
    return {
        t.name: Table(
            t.name,
            t.label,
            dict(t.columns),
            t.display,
            t.number_prefix,
            t.task,
            t.inactive_states,
        )
        for t in tables
    }


TASK_TABLES = ("incident", "problem", "change_request", "sc_req_item")

# ServiceNow's default priority lookup: (impact, urgency) -> priority.
PRIORITY = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("2", "1"): "2",
    ("1", "3"): "3",
    ("2", "2"): "3",
    ("3", "1"): "3",
    ("2", "3"): "4",
    ("3", "2"): "4",
    ("3", "3"): "5",
}
