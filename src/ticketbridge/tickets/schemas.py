"""Normalized ticket schemas, wire-compatible with the public API (see docs/api.md).

One ticket shape for answers: ``TicketRead`` for every stored ticket (reads, create, update,
replays), built by ``TicketRead.from_model``; ``NormalizedTicket`` is the same ticket read
live from the vendor, without the store's UUIDs. Both come from the connector's
``NormalizedIssue``, whose ``vendor_attributes`` are built once, by
``VendorAttributes.from_issue``.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ticketbridge.connectors import NormalizedIssue, check_id
from ticketbridge.schema_rules import (
    AccountVendorId,
    IssueTypeVendorId,
    IssueVendorId,
    LenientBody,
    ProjectVendorId,
    SafeLine,
    SafeText,
)
from ticketbridge.store.models import Ticket


class TicketStatus(StrEnum):
    OPEN = "OPEN"
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    IN_REVIEW = "IN_REVIEW"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class TicketPriority(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"
    UNKNOWN = "UNKNOWN"


class VendorData(BaseModel):
    vendor: str = "JIRA"
    id: str | None = None
    key: str | None = None
    statusCategory: str | None = None  # noqa: N815 (wire name)
    customFields: dict[str, Any] = Field(default_factory=dict)  # noqa: N815 (wire name)


class VendorAttributes(BaseModel):
    id: str | None = None
    vendor: str = "JIRA"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    type: str | None = None
    type_id: str | None = None
    status: str | None = None
    priority: str | None = None
    data: VendorData = Field(default_factory=VendorData)

    @classmethod
    def from_issue(cls, issue: NormalizedIssue, vendor: str | None = None) -> VendorAttributes:
        # The issue says its vendor; rows written before it did were all Jira's.
        vendor = vendor or issue.vendor or "JIRA"
        return cls(
            id=issue.vendor_id,
            vendor=vendor,
            created_at=issue.ticket_created_at,
            updated_at=issue.vendor_updated_at,
            type=issue.type,
            type_id=issue.type_vendor_id,
            status=issue.vendor_status_name,
            priority=issue.vendor_priority_name,
            data=VendorData(
                vendor=vendor,
                id=issue.vendor_id,
                key=issue.vendor_key,
                statusCategory=issue.status_category,
                customFields=dict(issue.custom_fields),
            ),
        )

    @staticmethod
    def stored_from_issue(issue: NormalizedIssue, vendor: str | None = None) -> dict[str, Any]:
        """``from_issue(issue, vendor).stored()`` without building the model: the same dict,
        at a fraction of the cost (the sync writes one per issue)."""
        vendor = vendor or issue.vendor or "JIRA"
        created, updated = issue.ticket_created_at, issue.vendor_updated_at
        return {
            "id": issue.vendor_id,
            "vendor": vendor,
            "created_at": created.isoformat() if created else None,
            "updated_at": updated.isoformat() if updated else None,
            "type": issue.type,
            "type_id": issue.type_vendor_id,
            "status": issue.vendor_status_name,
            "priority": issue.vendor_priority_name,
            "data": {
                "vendor": vendor,
                "id": issue.vendor_id,
                "key": issue.vendor_key,
                "statusCategory": issue.status_category,
                "customFields": dict(issue.custom_fields),
            },
        }

    def stored(self) -> dict[str, Any]:
        """The JSON kept in ``tickets.vendor_attributes`` (times in ``isoformat``, as ever)."""
        out = self.model_dump()
        for name in ("created_at", "updated_at"):
            value = out[name]
            out[name] = value.isoformat() if value else None
        return out


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    status: str
    priority: str
    type: str | None
    type_id: uuid.UUID | None
    active: bool
    url: str | None
    identifier: str
    project_id: uuid.UUID | None
    parent_ticket_id: uuid.UUID | None
    assigned_user_id: uuid.UUID | None
    created_by_user_id: uuid.UUID | None
    project_vendor_id: str | None
    assigned_user_vendor_id: str | None
    parent_ticket_vendor_id: str | None
    ticket_created_at: datetime | None
    due_date: date | None
    closed_at: datetime | None
    status_updated_at: datetime | None
    tags: list[str]
    vendor_attributes: VendorAttributes
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, ticket: Ticket) -> TicketRead:
        return cls.model_validate(ticket)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TicketRead:
        """The read shape of one ``READ_COLUMNS`` row by name (tickets/repository.py)."""
        return cls.model_validate(row)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> list[TicketRead]:
        """Read shapes of ``READ_COLUMNS`` rows by name (tickets/repository.py), validated in
        one call (a dict is read much faster than an ORM object's attributes)."""
        return _TICKET_LIST.validate_python(rows)


_TICKET_LIST = TypeAdapter(list[TicketRead])


class NormalizedTicket(BaseModel):
    """A ticket as the normalized API reads it, minus the store's UUIDs (it is not stored)."""

    name: str
    description: str | None
    status: str
    priority: str
    type: str | None
    type_vendor_id: str | None
    active: bool
    url: str | None
    identifier: str
    project_vendor_id: str | None
    assigned_user_vendor_id: str | None
    created_by_user_vendor_id: str | None
    parent_ticket_vendor_id: str | None
    ticket_created_at: datetime | None
    due_date: date | None
    closed_at: datetime | None
    status_updated_at: datetime | None
    tags: list[str]
    vendor_attributes: VendorAttributes

    @classmethod
    def from_issue(cls, issue: NormalizedIssue, vendor: str | None = None) -> NormalizedTicket:
        return cls(
            name=issue.name,
            description=issue.description,
            status=issue.status,
            priority=issue.priority,
            type=issue.type,
            type_vendor_id=issue.type_vendor_id,
            # It exists at the vendor right now: that is what "active" means for a live read.
            active=True,
            url=issue.url,
            identifier=issue.vendor_key,
            project_vendor_id=issue.project_vendor_id,
            assigned_user_vendor_id=issue.assigned_user_vendor_id,
            created_by_user_vendor_id=issue.created_by_vendor_id,
            parent_ticket_vendor_id=issue.parent_ticket_vendor_id,
            ticket_created_at=issue.ticket_created_at,
            due_date=issue.due_date,
            closed_at=issue.closed_at,
            status_updated_at=issue.status_updated_at,
            tags=list(issue.tags),
            vendor_attributes=VendorAttributes.from_issue(issue, vendor),
        )


# Pairs of mutually exclusive forms: (UUID form(s), vendor-id form).
EXCLUSIVE_PAIRS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("project_id",), "project_vendor_id"),
    (("type", "type_id"), "type_vendor_id"),
    (("assigned_user_id",), "assigned_user_vendor_id"),
    (("parent_ticket_id",), "parent_ticket_vendor_id"),
)


# The forms of which a create must send one, when the connection's vendor requires the field
# (``tickets.service.require_forms``: the vendor is known only once the connection is).
REQUIRED_FORMS: dict[str, tuple[str, ...]] = {
    "project": ("project_id", "project_vendor_id"),
    "type": ("type", "type_id", "type_vendor_id"),
}

WRITABLE_PRIORITIES = tuple(p.value for p in TicketPriority if p is not TicketPriority.UNKNOWN)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Jira's limits: a summary holds 255 characters, a text field 32,767.
NAME_MAX = 255
DESCRIPTION_MAX = 32_767
MAX_TAGS = 50
CUSTOM_FIELDS_MAX_BYTES = 64 * 1024

Name = Annotated[SafeLine, StringConstraints(min_length=1, max_length=NAME_MAX)]
Description = Annotated[SafeText, StringConstraints(max_length=DESCRIPTION_MAX)]
Identifier = Annotated[SafeLine, StringConstraints(min_length=1, max_length=255)]
Tag = Annotated[SafeLine, StringConstraints(min_length=1, max_length=255)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]


def _field_errors(title: str, problems: list[tuple[str, str, str]], values: Any) -> ValidationError:
    """One error per (field, error type, message): the 422's ``loc`` names every field."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError(kind, message),
                loc=(name,),
                input=getattr(values, name, None),
            )
            for name, kind, message in problems
        ],
    )


def _exclusive(names: list[str]) -> list[tuple[str, str, str]]:
    message = f"{' and '.join(names)} are mutually exclusive; send one"
    return [(name, "mutually_exclusive", message) for name in names]


def _writable_priority(value: TicketPriority | None) -> TicketPriority | None:
    if value is TicketPriority.UNKNOWN:
        raise ValueError(f"UNKNOWN cannot be written; use one of {', '.join(WRITABLE_PRIORITIES)}")
    return value


def _custom_field_ids(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > CUSTOM_FIELDS_MAX_BYTES:
        raise ValueError(f"must be at most {CUSTOM_FIELDS_MAX_BYTES} bytes as JSON, not {size}")
    bad: list[str] = []
    expected = ""
    for key in value:
        try:
            check_id("custom_field", key)
        except ValueError as exc:
            bad.append(key)
            expected = str(exc).removeprefix("must be ")
    if bad:
        shown = [k[:64] for k in sorted(bad)[:5]]
        raise ValueError(f"keys must be custom field ids ({expected}), not {shown}")
    return value


class TicketCreate(LenientBody):
    """For each of project, issue type, assignee and parent: a Leen UUID form or a vendor-id
    form, never both. Project and issue type are required in one form or the other where the
    connection's vendor has them (checked by the ticket service, which knows the vendor)."""

    name: Name
    description: Description | None = None
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    identifier: Identifier | None = None
    due_date: date | None = None
    tags: Tags | None = None
    project_id: uuid.UUID | None = None
    project_vendor_id: ProjectVendorId | None = None
    type: SafeLine | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Issue type name, or the UUID of a synced issue type",
    )
    type_id: uuid.UUID | None = Field(default=None, description="Deprecated: use type")
    type_vendor_id: IssueTypeVendorId | None = None
    assigned_user_id: uuid.UUID | None = None
    assigned_user_vendor_id: AccountVendorId | None = None
    parent_ticket_id: uuid.UUID | None = None
    parent_ticket_vendor_id: IssueVendorId | None = None
    custom_fields: dict[str, Any] | None = Field(
        default=None,
        description="Vendor custom field id -> value, passed through as is (docs/vendors/)",
    )

    _priority = field_validator("priority")(_writable_priority)
    _custom = field_validator("custom_fields")(_custom_field_ids)

    @model_validator(mode="after")
    def _one_form_per_field(self) -> TicketCreate:
        problems: list[tuple[str, str, str]] = []
        for uuid_forms, vendor_form in EXCLUSIVE_PAIRS:
            given = [f for f in (*uuid_forms, vendor_form) if getattr(self, f) is not None]
            if len(given) > 1:
                problems += _exclusive(given)
        if problems:
            raise _field_errors(type(self).__name__, problems, self)
        return self

    @property
    def type_uuid(self) -> uuid.UUID | None:
        """``type`` when it is a synced issue type's UUID rather than a name."""
        if self.type is not None and _UUID.fullmatch(self.type):
            return uuid.UUID(self.type)
        return None

    @property
    def uses_vendor_ids_only(self) -> bool:
        """True when no field needs the synced store (the spec's "skip local persistence")."""
        return not (
            self.project_id
            or self.type_id
            or self.type_uuid
            or self.assigned_user_id
            or self.parent_ticket_id
        )


class TicketUpdate(LenientBody):
    """Only the fields sent change; ``null`` clears description, assignee, due date and tags."""

    name: Name | None = None
    description: Description | None = None
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    assigned_user_id: uuid.UUID | None = None
    assigned_user_vendor_id: AccountVendorId | None = None
    due_date: date | None = None
    tags: Tags | None = None
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="Vendor custom field -> value (null clears that field)"
    )

    _priority = field_validator("priority")(_writable_priority)
    _custom = field_validator("custom_fields")(_custom_field_ids)

    @model_validator(mode="after")
    def _one_assignee_form(self) -> TicketUpdate:
        sent = self.model_fields_set
        problems: list[tuple[str, str, str]] = []
        forms = ["assigned_user_id", "assigned_user_vendor_id"]
        # Both sent is fine only as a double "unassign" (both null).
        if set(forms) <= sent and (self.assigned_user_id or self.assigned_user_vendor_id):
            problems += _exclusive(forms)
        for name in ("name", "status", "priority"):
            if name in sent and getattr(self, name) is None:
                problems.append((name, "not_nullable", f"{name} cannot be null"))
        if problems:
            raise _field_errors(type(self).__name__, problems, self)
        return self
