"""Synced assignment groups of a connection (vendors whose capabilities include groups).

Like the rest of the catalog: own UUID, unique ``(connection_id, vendor_id)``, never deleted
by a sync, marked ``active = false`` when the vendor deactivates or drops the group.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.store.base import Base, IdMixin, TimestampMixin


class Group(IdMixin, TimestampMixin, Base):
    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("connection_id", "vendor_id"),
        Index("ix_groups_conn_updated", "connection_id", "updated_at"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    vendor_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(400))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    manager_vendor_id: Mapped[str | None] = mapped_column(String(128), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    vendor_attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    vendor_updated_at: Mapped[datetime | None] = mapped_column(default=None)
