"""Wire schemas of the sync state (the catalog's are in ``catalog/schemas.py``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


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


class SyncAccepted(BaseModel):
    connection_id: uuid.UUID
    full: bool
    status: str = "RUNNING"
