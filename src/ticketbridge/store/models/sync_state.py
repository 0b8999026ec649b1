"""Per-connection sync progress: the checkpoint a killed sync resumes from."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.store.base import Base, utcnow


class SyncState(Base):
    __tablename__ = "sync_states"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="IDLE")  # IDLE|RUNNING|FAILED
    phase: Mapped[str | None] = mapped_column(String(32), default=None)
    # {"watermark_ms": int | None, "page_token": str | None, "run_started_ms": int, ...}
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    full_sync_done: Mapped[bool] = mapped_column(default=False)
    last_started_at: Mapped[datetime | None] = mapped_column(default=None)
    last_finished_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_reconciled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # Lease so two schedulers (or replicas) never sync one connection at once.
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
