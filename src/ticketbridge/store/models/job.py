"""Jobs (async bulk writes) and their chunks (exactly-once bookkeeping)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.store.base import Base, IdMixin, JSONType, utcnow


class Job(IdMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_account_created", "account_id", "created_at"),
        Index("ix_jobs_status_lease", "status", "lease_expires_at"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(64))  # "tickets.bulk_create", "tickets.bulk_update"
    status: Mapped[str] = mapped_column(String(16), default="QUEUED")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    results: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    failure_reason: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class JobChunk(Base):
    """One vendor call's worth of a job. ``status`` records intent before the call (SENT),
    so a resumed job knows which chunks may already exist in the vendor."""

    __tablename__ = "job_chunks"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="PENDING")  # PENDING|SENT|DONE
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    marker: Mapped[str | None] = mapped_column(String(128), default=None)
    results: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
