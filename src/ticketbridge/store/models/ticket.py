"""The normalized ticket, one row per vendor issue of a connection."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.store.base import Base, IdMixin, JSONType, TimestampMixin


class Ticket(IdMixin, TimestampMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("connection_id", "vendor_id"),
        UniqueConstraint("connection_id", "identifier"),
        Index("ix_tickets_conn_key", "connection_id", "vendor_key"),
        # Keyset pages walk (connection_id, id); filters narrow within a connection.
        Index("ix_tickets_conn_id", "connection_id", "id"),
        Index("ix_tickets_conn_updated", "connection_id", "updated_at", "id"),
        Index("ix_tickets_conn_status", "connection_id", "status", "id"),
        Index("ix_tickets_conn_project", "connection_id", "project_id", "id"),
        Index("ix_tickets_conn_assignee", "connection_id", "assigned_user_id", "id"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    vendor_id: Mapped[str] = mapped_column(String(64))  # Jira issue id ("10042")
    vendor_key: Mapped[str] = mapped_column(String(64))  # Jira issue key ("ENG-12")
    identifier: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(32), default="UNKNOWN")
    type: Mapped[str | None] = mapped_column(String(200), default=None)
    type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("issue_types.id", ondelete="SET NULL"), default=None
    )
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), default=None
    )
    parent_ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), default=None
    )
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    project_vendor_id: Mapped[str | None] = mapped_column(String(64), default=None)
    assigned_user_vendor_id: Mapped[str | None] = mapped_column(String(128), default=None)
    parent_ticket_vendor_id: Mapped[str | None] = mapped_column(String(64), default=None)
    url: Mapped[str | None] = mapped_column(Text, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    due_date: Mapped[date | None] = mapped_column(default=None)
    ticket_created_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    status_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    # The vendor's own updated time: drives incremental sync and change detection.
    vendor_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    vendor_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
