"""Wire schemas of the sync state (the catalog's are in ``catalog/schemas.py``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from ticketbridge.store.base import utcnow
from ticketbridge.store.models import SyncState


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

    @classmethod
    def from_model(
        cls, connection_id: uuid.UUID, state: SyncState | None, *, running_here: bool = False
    ) -> SyncStateRead:
        if state is None:
            return cls(
                connection_id=connection_id,
                status="RUNNING" if running_here else "NEVER",
                running=running_here,
                phase=None,
                full_sync_done=False,
                watermark=None,
                counts={},
                last_started_at=None,
                last_finished_at=None,
                last_success_at=None,
                last_reconciled_at=None,
                last_error=None,
            )
        leased = state.lease_expires_at is not None and state.lease_expires_at > utcnow()
        watermark_ms = (state.cursor or {}).get("watermark_ms")
        watermark = (
            datetime.fromtimestamp(watermark_ms / 1000, tz=UTC)
            if watermark_ms is not None
            else None
        )
        running = running_here or (state.status == "RUNNING" and leased)
        return cls(
            connection_id=connection_id,
            # A RUNNING row whose lease expired belongs to a runner that died: it will resume.
            status="RUNNING"
            if running
            else "FAILED"
            if state.status == "RUNNING"
            else state.status,
            running=running,
            phase=state.phase,
            full_sync_done=state.full_sync_done,
            watermark=watermark,
            counts=dict(state.counts or {}),
            last_started_at=state.last_started_at,
            last_finished_at=state.last_finished_at,
            last_success_at=state.last_success_at,
            last_reconciled_at=state.last_reconciled_at,
            last_error=state.last_error
            or (
                None
                if running or state.status != "RUNNING"
                else "the runner stopped (lease expired)"
            ),
        )


class SyncAccepted(BaseModel):
    connection_id: uuid.UUID
    full: bool
    status: str = "RUNNING"
