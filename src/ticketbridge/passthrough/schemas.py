"""Passthrough response shapes (see docs/api-passthrough.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from ticketbridge.connectors.base import (
    LiveProject,
    LiveUser,
    NormalizedIssue,
    NormalizedIssueType,
)
from ticketbridge.tickets.schemas import VendorAttributes, VendorData


class IssueTypeItem(BaseModel):
    vendor_id: str = Field(description="Usable as type_vendor_id when creating a ticket")
    name: str
    subtask: bool
    description: str | None

    @classmethod
    def of(cls, t: NormalizedIssueType) -> IssueTypeItem:
        return cls(vendor_id=t.vendor_id, name=t.name, subtask=t.subtask, description=t.description)


class ProjectItem(BaseModel):
    vendor_id: str = Field(description="The project key; usable as project_vendor_id")
    id: str = Field(description="The vendor's internal project id")
    name: str
    project_type: str | None
    issue_types: list[IssueTypeItem] | None = Field(
        default=None, description="Only with expand_issue_types=true"
    )

    @classmethod
    def of(cls, p: LiveProject) -> ProjectItem:
        types = None if p.issue_types is None else [IssueTypeItem.of(t) for t in p.issue_types]
        return cls(
            vendor_id=p.key,
            id=p.id,
            name=p.name,
            project_type=p.project_type,
            issue_types=types,
        )


class UserItem(BaseModel):
    vendor_id: str = Field(description="Usable as assigned_user_vendor_id")
    name: str | None
    email: str | None = Field(description="Null when the user's privacy settings hide it")
    active: bool

    @classmethod
    def of(cls, u: LiveUser) -> UserItem:
        return cls(vendor_id=u.vendor_id, name=u.name, email=u.email, active=u.active)


class VendorIssue(BaseModel):
    """The vendor's own shape: Jira's key, id and the requested ``fields``, untouched."""

    key: str | None
    id: str | None
    fields: dict[str, Any]


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
    def of(cls, issue: NormalizedIssue, vendor: str = "JIRA") -> NormalizedTicket:
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
            vendor_attributes=VendorAttributes(
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
            ),
        )


class TicketItem(BaseModel):
    vendor: VendorIssue
    normalized: NormalizedTicket


class SearchPage(BaseModel):
    items: list[TicketItem]
    next_cursor: str | None = Field(
        description="Pass as cursor (with the same jql, fields and limit) for the next page; "
        "null on the last page"
    )
