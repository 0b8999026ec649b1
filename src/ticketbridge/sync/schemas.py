"""Wire schemas of the synced catalog (projects, issue types, users) and the sync state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class IssueTypeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    vendor_id: str  # usable as type_vendor_id
    name: str
    description: str | None
    subtask: bool
    active: bool
    created_at: datetime
    updated_at: datetime


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


class SyncStateRead(BaseModel):
    connection_id: uuid.UUID
    status: str  # IDLE | RUNNING | FAILED (NEVER before the first run)
    running: bool
    phase: str | None
    full_sync_done: bool
    watermark: datetime | None = Field(
        description="Highest vendor `updated` time fully synced; the next incremental run "
        "reads from here minus the overlap"
    )
    counts: dict[str, Any]
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    last_reconciled_at: datetime | None
    last_error: str | None


class SyncAccepted(BaseModel):
    connection_id: uuid.UUID
    full: bool
    status: str = "RUNNING"
