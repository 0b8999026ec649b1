"""The vocabulary of a sync run: its configuration, progress, result, and the in-memory
state whose checkpointed form is ``SyncState.cursor["run"]`` (see docs/sync.md)."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ticketbridge.errors import Conflict, TicketbridgeError
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.sync.repository import SyncRepository


@dataclass(frozen=True)
class SyncConfig:
    # Re-read this much before the watermark: Jira's search index lags writes slightly, and
    # our clock and Jira's may differ by a few seconds.
    overlap_secs: float = 60.0
    page_size: int = 100
    # Reconcile deletions on every full sync, and on an incremental run when either limit
    # is reached.
    reconcile_every_runs: int = 24
    reconcile_interval_secs: float = 6 * 3600.0
    lease_secs: float = 600.0
    # A full sync of at least two slices of ``slice_pages`` pages reads the connector's
    # disjoint slices concurrently (docs/sync.md), ``readers`` at a time (None: three
    # quarters of the connection's vendor concurrency cap).
    partitioned: bool = True
    slice_pages: int = 10
    readers: int | None = None


@dataclass
class SyncProgress:
    connection_id: uuid.UUID
    mode: str  # full | incremental
    phase: str  # catalog | tickets | reconcile | done
    pages: int = 0
    tickets: int = 0
    estimated_total: int | None = None


@dataclass
class SyncResult:
    connection_id: uuid.UUID
    mode: str
    resumed: bool
    pages: int = 0
    tickets: int = 0  # issues read and upserted in this run (a resumed run counts all pages)
    changed: int = 0  # rows inserted or actually changed
    projects: int = 0
    issue_types: int = 0
    users: int = 0
    reconciled: bool = False
    deactivated: int = 0
    reactivated: int = 0
    watermark_ms: int | None = None
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None


ProgressHook = Callable[[SyncProgress], Awaitable[None] | None]


class SyncAlreadyRunning(Conflict):
    pass


def default_owner() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def now_ms() -> int:
    return int(time.time() * 1000)


def epoch_ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def describe(exc: BaseException) -> str:
    """The ``last_error`` a caller sees: our error texts, never internal exception text.

    Unexpected exceptions can carry file paths, SQL or vendor bodies; the caller gets their
    class name only, and the log (redacted) keeps the traceback for operators.
    """
    if isinstance(exc, TicketbridgeError):
        return f"{type(exc).__name__}: {exc.message}"[:2000]
    if isinstance(exc, asyncio.CancelledError):
        return "CancelledError: the sync was interrupted; the next run resumes at its checkpoint"
    return f"{type(exc).__name__}: internal error during the sync; details are in the server log"


class RunState:
    """The state of one run; ``cursor["run"]`` is its checkpointed form."""

    def __init__(
        self,
        runtime: Runtime,
        connection_id: uuid.UUID,
        owner: str,
        config: SyncConfig,
        on_progress: ProgressHook | None,
    ) -> None:
        self.runtime = runtime
        self.connection_id = connection_id
        self.owner = owner
        self.config = config
        self.on_progress = on_progress
        self.lease = timedelta(seconds=config.lease_secs)
        self.watermark_ms: int | None = None
        self.run: dict[str, Any] = {}
        self.counts: dict[str, Any] = {}
        self.result: SyncResult | None = None
        self.estimated_total: int | None = None
        self.filtered = False  # the connection has a project_keys_filter
        self.last_reconciled_at: datetime | None = None

    def cursor(self) -> dict[str, Any]:
        return {"watermark_ms": self.watermark_ms, "run": dict(self.run)}

    async def progress(self) -> None:
        if self.on_progress is None:
            return
        done = self.run.get("phase") == "done"
        outcome = self.on_progress(
            SyncProgress(
                self.connection_id,
                self.run["mode"],
                "done" if done else self.run["phase"],
                self.run["pages"],
                self.run["tickets"],
                self.estimated_total,
            )
        )
        if inspect.isawaitable(outcome):
            await outcome

    async def checkpoint(self, repo: SyncRepository, **values: Any) -> None:
        ok = await repo.save(
            self.connection_id,
            self.owner,
            self.lease,
            cursor=self.cursor(),
            phase=self.run["phase"],
            **values,
        )
        if not ok:
            raise SyncAlreadyRunning("the sync lease was taken over by another runner")
