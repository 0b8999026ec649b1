from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ticketbridge.schema_rules import SafeLine


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SafeLine = Field(min_length=1, max_length=200)
    external_id: SafeLine | None = Field(default=None, max_length=200)


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vendor: str = Field(description="Vendor name; supported: JIRA")
    credentials: dict[str, Any]
    identifier: SafeLine | None = Field(default=None, max_length=200)
    options: dict[str, Any] = Field(default_factory=dict)
    refresh_interval_secs: int | None = Field(default=None, ge=60, le=7 * 86400)
    # Caps each vendor request of this connection: min(this, VENDOR_TIMEOUT_SECS).
    timeout_secs: int = Field(default=3600, ge=1, le=86400)
    is_active: bool = True


class ConnectionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credentials: dict[str, Any] | None = None
    identifier: SafeLine | None = Field(default=None, max_length=200)
    options: dict[str, Any] | None = None
    refresh_interval_secs: int | None = Field(default=None, ge=60, le=7 * 86400)
    timeout_secs: int | None = Field(default=None, ge=1, le=86400)
    is_active: bool | None = None


class ConnectionRead(BaseModel):
    id: uuid.UUID
    vendor: str
    is_active: bool
    refresh_interval_secs: int
    timeout_secs: int
    organization_id: uuid.UUID
    state: str
    health: str
    health_detail: str | None
    health_checked_at: datetime | None
    identifier: str | None
    options: dict[str, Any]
    credentials: dict[str, Any] = Field(description="Masked: the API token is never returned")
    created_at: datetime
    updated_at: datetime


class ConnectionTestResult(BaseModel):
    health: Literal["HEALTHY", "UNHEALTHY"]
    detail: str | None
    vendor_account_id: str | None = None
    vendor_account_name: str | None = None
