"""The public view of a connection's sync state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ticketbridge.store.base import utcnow
from ticketbridge.store.models import SyncState
from ticketbridge.sync.schemas import SyncStateRead


def state_read(
    connection_id: uuid.UUID, state: SyncState | None, *, running_here: bool = False
) -> SyncStateRead:
    if state is None:
        return SyncStateRead(
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
        datetime.fromtimestamp(watermark_ms / 1000, tz=UTC) if watermark_ms is not None else None
    )
    running = running_here or (state.status == "RUNNING" and leased)
    return SyncStateRead(
        connection_id=connection_id,
        # A RUNNING row whose lease expired belongs to a runner that died: it will resume.
        status="RUNNING" if running else "FAILED" if state.status == "RUNNING" else state.status,
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
        or (None if running or state.status != "RUNNING" else "the runner stopped (lease expired)"),
    )
