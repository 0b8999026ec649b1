from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.store.base import Base, IdMixin, TimestampMixin


class Organization(IdMixin, TimestampMixin, Base):
    """An end customer of the account; connections hang off it."""

    __tablename__ = "organizations"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)


class Connection(IdMixin, TimestampMixin, Base):
    """A vendor connection. Credentials are a Fernet token, never plain text."""

    __tablename__ = "connections"
    __table_args__ = (Index("ix_connections_account_org", "account_id", "organization_id"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    vendor: Mapped[str] = mapped_column(String(32))
    identifier: Mapped[str | None] = mapped_column(String(200), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    refresh_interval_secs: Mapped[int] = mapped_column(default=900)
    timeout_secs: Mapped[int] = mapped_column(default=3600)
    state: Mapped[str] = mapped_column(String(32), default="ACTIVE")
    health: Mapped[str] = mapped_column(String(32), default="UNKNOWN")
    health_detail: Mapped[str | None] = mapped_column(Text, default=None)
    health_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    credentials_encrypted: Mapped[str] = mapped_column(Text)
    # Non-secret display hint (e.g. "****abcd") so responses never need the plain token.
    credentials_hint: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
