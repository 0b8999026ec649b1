from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ticketbridge.schema_rules import SafeLine
from ticketbridge.store.models import Connection, Organization


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

    @classmethod
    def from_model(cls, org: Organization) -> OrganizationRead:
        return cls.model_validate(org)


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vendor: str = Field(description="Vendor name, e.g. JIRA (docs/vendors/ lists them)")
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

    @classmethod
    def from_model(cls, conn: Connection) -> ConnectionRead:
        return cls(
            id=conn.id,
            vendor=conn.vendor,
            is_active=conn.is_active,
            refresh_interval_secs=conn.refresh_interval_secs,
            timeout_secs=conn.timeout_secs,
            organization_id=conn.organization_id,
            # A disabled connection answers 409 on data routes: its state says so too.
            state=conn.state if conn.is_active else "INACTIVE",
            health=conn.health,
            health_detail=conn.health_detail,
            health_checked_at=conn.health_checked_at,
            identifier=conn.identifier,
            options=conn.options,
            credentials=conn.credentials_hint,
            created_at=conn.created_at,
            updated_at=conn.updated_at,
        )


class ConnectionTestResult(BaseModel):
    health: Literal["HEALTHY", "UNHEALTHY"]
    detail: str | None
    vendor_account_id: str | None = None
    vendor_account_name: str | None = None
