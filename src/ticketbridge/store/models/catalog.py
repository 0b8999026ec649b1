"""Synced vendor catalog: projects, issue types and users of a connection.

Every row has its own UUID plus a unique ``(connection_id, vendor_id)``; rows are never
deleted by a sync, only marked ``active = false`` when they vanish from the vendor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.store.base import Base, IdMixin, TimestampMixin


class Project(IdMixin, TimestampMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("connection_id", "vendor_id"),
        Index("ix_projects_conn_key", "connection_id", "key"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    vendor_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(400))
    project_type: Mapped[str | None] = mapped_column(String(64), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    vendor_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IssueType(IdMixin, TimestampMixin, Base):
    """Issue types are per project (team-managed projects have their own ids)."""

    __tablename__ = "issue_types"
    __table_args__ = (UniqueConstraint("connection_id", "project_id", "vendor_id"),)

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    vendor_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    subtask: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("connection_id", "vendor_id"),
        Index("ix_users_conn_updated", "connection_id", "updated_at"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    vendor_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(400), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    # ACTIVE | INACTIVE | DELETED (compatible API's user status enum)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    account_type: Mapped[str | None] = mapped_column(String(32), default=None)
    vendor_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    vendor_updated_at: Mapped[datetime | None] = mapped_column(default=None)


class ProjectUser(Base):
    """Which users are assignable in which project (feeds the users ``projectId`` filter)."""

    __tablename__ = "project_users"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
