"""Wire schemas of the synced catalog, each built from its row by ``from_model``."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from ticketbridge.store.models import IssueType, Project, User


class ProjectRead(BaseModel):
    id: uuid.UUID
    # The Jira project KEY: what tickets carry as project_vendor_id and what writes accept.
    vendor_id: str
    key: str
    name: str
    description: str | None
    project_type: str | None
    active: bool
    vendor_attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, p: Project) -> ProjectRead:
        return cls(
            id=p.id,
            vendor_id=p.key,
            key=p.key,
            name=p.name,
            description=p.description,
            project_type=p.project_type,
            active=p.active,
            vendor_attributes={
                **p.vendor_attributes,
                "id": p.vendor_id,
                "vendor": p.vendor_attributes.get("vendor") or "JIRA",
            },
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class IssueTypeRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    vendor_id: str  # usable as type_vendor_id
    name: str
    description: str | None
    subtask: bool
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, t: IssueType) -> IssueTypeRead:
        return cls(
            id=t.id,
            project_id=t.project_id,
            vendor_id=t.vendor_id,
            name=t.name,
            description=t.description,
            subtask=t.subtask,
            active=t.active,
            created_at=t.created_at,
            updated_at=t.updated_at,
        )


class UserStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    DELETED = "DELETED"


class UserVendorData(BaseModel):
    vendor: str = "JIRA"
    accountType: str | None = None  # noqa: N815 (wire name)


class UserVendorAttributes(BaseModel):
    id: str
    vendor: str = "JIRA"
    created_at: datetime
    updated_at: datetime
    data: UserVendorData = Field(default_factory=UserVendorData)


class UserRead(BaseModel):
    id: uuid.UUID
    vendor_id: str  # the Jira accountId, usable as assigned_user_vendor_id
    name: str | None
    email: str | None
    status: str
    vendor_attributes: UserVendorAttributes
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, u: User) -> UserRead:
        # Rows written before the vendor was stored were all Jira's.
        vendor = str((u.vendor_attributes or {}).get("vendor") or "JIRA")
        return cls(
            id=u.id,
            vendor_id=u.vendor_id,
            name=u.name,
            email=u.email,
            status=u.status,
            vendor_attributes=UserVendorAttributes(
                id=u.vendor_id,
                vendor=vendor,
                created_at=u.created_at,
                updated_at=u.updated_at,
                data=UserVendorData(vendor=vendor, accountType=u.account_type),
            ),
            created_at=u.created_at,
            updated_at=u.updated_at,
        )
