"""Normalized ticket schemas, wire-compatible with the public API (see docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


# Pairs of mutually exclusive forms: (UUID form(s), vendor-id form).
EXCLUSIVE_PAIRS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("project_id",), "project_vendor_id"),
    (("type", "type_id"), "type_vendor_id"),
    (("assigned_user_id",), "assigned_user_vendor_id"),
    (("parent_ticket_id",), "parent_ticket_vendor_id"),
)


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=100_000)
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    identifier: str | None = Field(default=None, min_length=1, max_length=255)
    due_date: date | None = None
    tags: list[str] | None = None
    project_id: uuid.UUID | None = None
    project_vendor_id: str | None = Field(default=None, min_length=1)
    type: str | None = Field(default=None, min_length=1)
    type_id: uuid.UUID | None = Field(default=None, description="Deprecated: use type")
    type_vendor_id: str | None = Field(default=None, min_length=1)
    assigned_user_id: uuid.UUID | None = None
    assigned_user_vendor_id: str | None = Field(default=None, min_length=1)
    parent_ticket_id: uuid.UUID | None = None
    parent_ticket_vendor_id: str | None = Field(default=None, min_length=1)
    custom_fields: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_form_per_field(self) -> TicketCreate:
        sent = self.model_fields_set
        for uuid_forms, vendor_form in EXCLUSIVE_PAIRS:
            given = [f for f in (*uuid_forms, vendor_form) if f in sent and getattr(self, f)]
            if len(given) > 1:
                raise ValueError(f"{' and '.join(given)} are mutually exclusive; send one")
        if not (self.project_id or self.project_vendor_id):
            raise ValueError("project_id or project_vendor_id is required")
        if not (self.type or self.type_id or self.type_vendor_id):
            raise ValueError("type, type_id or type_vendor_id is required")
        return self

    @property
    def uses_vendor_ids_only(self) -> bool:
        """True when no field needs the synced store (the spec's "skip local persistence")."""
        return not (
            self.project_id or self.type_id or self.assigned_user_id or self.parent_ticket_id
        )


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=100_000)
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    assigned_user_id: uuid.UUID | None = None
    assigned_user_vendor_id: str | None = None
    due_date: date | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_assignee_form(self) -> TicketUpdate:
        sent = self.model_fields_set
        if {"assigned_user_id", "assigned_user_vendor_id"} <= sent and (
            self.assigned_user_id and self.assigned_user_vendor_id
        ):
            raise ValueError(
                "assigned_user_id and assigned_user_vendor_id are mutually exclusive; send one"
            )
        for name in ("name", "status", "priority"):
            if name in sent and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self
