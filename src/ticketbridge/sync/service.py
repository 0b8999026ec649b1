"""One sync run of one connection: catalog, ticket pages, then (when due) reconciliation.

A run is a job boundary: it opens and commits its own transactions, one per vendor page, and
checkpoints ``SyncState.cursor`` in the same transaction as the page's rows, so a run killed
at any point resumes from its last committed page. See docs/sync.md for the cursor layout
and the exact resume and watermark rules.
"""

from __future__ import annotations

import gc
import inspect
import os
import socket
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ticketbridge.connectors.base import SyncConnector
from ticketbridge.errors import Conflict, NotFound, TicketbridgeError
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.sync.catalog import sync_catalog
from ticketbridge.sync.catalog_repository import CatalogRepository
from ticketbridge.sync.reconcile import ReconcileCounts, reconcile, retire_all
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.tickets.repository import TicketRepository

log = get_logger(__name__)


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


def release_page_garbage() -> None:
    """Free the last page now rather than at the next full collection.

    An httpx response and its stream reference each other, so each page's response body
    (hundreds of KB) lives until the cyclic GC runs. By then it has usually reached the
    young generations' end; a full collection may be far away in a big process, letting
    garbage pile up with the number of pages. A generation-1 collection is cheap (young
    objects only) and catches most of it.
    """
    gc.collect(1)


def default_owner() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TicketbridgeError):
        return f"{type(exc).__name__}: {exc.message}"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"[:2000]


class _Run:
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


async def run_sync(
    runtime: Runtime,
    connection_id: uuid.UUID,
    *,
    full: bool = False,
    config: SyncConfig | None = None,
    on_progress: ProgressHook | None = None,
    estimate_total: bool = False,
    owner: str | None = None,
) -> SyncResult:
    """Sync one connection; resumes an unfinished run from its last checkpoint.

    Raises :class:`SyncAlreadyRunning` (409) when another runner holds the connection's lease,
    NotFound/Conflict for unknown/disabled connections, and the vendor's error when the run
    fails (the state then says FAILED with ``last_error``; the checkpoint is kept).
    """
    state = _Run(
        runtime, connection_id, owner or default_owner(), config or SyncConfig(), on_progress
    )
    connector = await _start(state, full=full)
    try:
        return await _execute(state, connector, estimate_total=estimate_total)
    except BaseException as exc:
        await _fail(state, exc)
        raise


async def _start(state: _Run, *, full: bool) -> SyncConnector:
    runtime, cid = state.runtime, state.connection_id
    async with runtime.session() as s:
        repo = SyncRepository(s)
        conn = await repo.connection(cid)
        if conn is None:
            raise NotFound("connection not found")
        if not conn.is_active:
            raise Conflict("connection is disabled; re-enable it with PATCH is_active=true")
        await repo.ensure_state(cid)
        if not await repo.acquire_lease(cid, state.owner, state.lease):
            raise SyncAlreadyRunning("a sync of this connection is already running")
        current = await repo.state(cid)
        assert current is not None
        cursor = dict(current.cursor or {})
        state.watermark_ms = cursor.get("watermark_ms")
        state.counts = dict(current.counts or {})
        state.last_reconciled_at = current.last_reconciled_at
        state.filtered = bool((conn.options or {}).get("project_keys_filter"))
        previous: dict[str, Any] = cursor.get("run") or {}
        # An unfinished run resumes, unless a full sync is asked for on top of an
        # incremental one (the full sync supersedes it).
        resumed = bool(previous) and not (full and previous.get("mode") != "full")
        if resumed:
            state.run = dict(previous)
            state.run["resumes"] = int(state.run.get("resumes", 0)) + 1
        else:
            mode = "full" if full or not current.full_sync_done else "incremental"
            overlap_ms = int(state.config.overlap_secs * 1000)
            since = 0 if mode == "full" else max(0, (state.watermark_ms or 0) - overlap_ms)
            state.run = {
                "mode": mode,
                "phase": "catalog",
                "since_ms": since,
                "max_updated_ms": None,
                "pages": 0,
                "tickets": 0,
                "changed": 0,
                "started_ms": _now_ms(),
                "resumes": 0,
            }
        state.result = SyncResult(cid, state.run["mode"], resumed)
        await state.checkpoint(repo, status="RUNNING", last_started_at=utcnow(), last_error=None)
        credentials = runtime.box.decrypt_json(conn.credentials_encrypted)
        connector = runtime.connectors.jira(str(cid), credentials, conn.options)
    log.info("sync_started", connection_id=str(cid), mode=state.run["mode"], resumed=resumed)
    return connector


async def _execute(state: _Run, connector: SyncConnector, *, estimate_total: bool) -> SyncResult:
    runtime, cid, run, result = state.runtime, state.connection_id, state.run, state.result
    assert result is not None
    if run["phase"] == "catalog":
        await state.progress()
        catalog = await sync_catalog(runtime, connector, cid)
        result.projects, result.issue_types, result.users = (
            catalog.projects,
            catalog.issue_types,
            catalog.users,
        )
        state.counts.update(
            projects=catalog.projects, issue_types=catalog.issue_types, users=catalog.users
        )
        run["phase"] = "tickets"
        async with runtime.session() as s:
            await state.checkpoint(SyncRepository(s), counts=state.counts)
    project_keys = await _project_keys(state)
    if run["phase"] == "tickets":
        if project_keys == []:
            run["phase"] = "reconcile"
        else:
            await _tickets(state, connector, project_keys, estimate_total=estimate_total)
    counts = ReconcileCounts()
    reconciled = False
    if run["phase"] == "reconcile" and _reconcile_due(state):
        await state.progress()
        counts = (
            await retire_all(runtime, cid)
            if project_keys == []
            else await reconcile(runtime, connector, cid, project_keys)
        )
        reconciled = True
    return await _finish(state, counts, reconciled)


async def _project_keys(state: _Run) -> list[str] | None:
    """None means every project; a list restricts searches to the filtered projects that
    exist (a filter naming a missing project would make Jira refuse the whole query)."""
    if not state.filtered:
        return None
    async with state.runtime.session() as s:
        rows = await CatalogRepository(s).active_project_keys(state.connection_id)
    return [key for _, key in rows]


async def _tickets(
    state: _Run, connector: SyncConnector, project_keys: list[str] | None, *, estimate_total: bool
) -> None:
    runtime, cid, run, config = state.runtime, state.connection_id, state.run, state.config
    overlap_ms = int(config.overlap_secs * 1000)
    since = int(run["since_ms"])
    if run["max_updated_ms"] is not None:
        # Resuming: page tokens expire, so the query is issued again from the highest
        # `updated` already stored, minus the overlap (ties and index lag).
        since = max(since, int(run["max_updated_ms"]) - overlap_ms)
    jql = connector.incremental_jql(project_keys, since)
    if estimate_total:
        state.estimated_total = run["tickets"] + await connector.count_issues(jql)
    await state.progress()
    token: str | None = None
    while True:
        issues, token = await connector.search_issues_page(jql, token, config.page_size)
        async with runtime.session() as s:
            users = [p for i in issues for p in i.people]
            if users:
                await CatalogRepository(s).upsert_users(cid, users)
            changed = await TicketRepository(s).upsert_page(cid, issues)
            stamps = [m for m in (_ms(i.vendor_updated_at) for i in issues) if m is not None]
            if stamps:
                run["max_updated_ms"] = max([*stamps, run["max_updated_ms"] or 0])
            run["pages"] += 1
            run["tickets"] += len(issues)
            run["changed"] += changed
            if token is None:
                run["phase"] = "reconcile"
                await TicketRepository(s).resolve_parents(cid)
            await state.checkpoint(SyncRepository(s))
        del issues
        release_page_garbage()
        await state.progress()
        if token is None:
            return


def _reconcile_due(state: _Run) -> bool:
    if state.run["mode"] == "full":
        return True
    runs = int(state.counts.get("runs_since_reconcile", 0)) + 1
    if runs >= state.config.reconcile_every_runs:
        return True
    last = state.last_reconciled_at
    interval = timedelta(seconds=state.config.reconcile_interval_secs)
    return last is None or utcnow() - last >= interval


async def _finish(state: _Run, counts: ReconcileCounts, reconciled: bool) -> SyncResult:
    run, result = state.run, state.result
    assert result is not None
    # The next incremental run starts from the highest `updated` stored, but never later
    # than this run's start: an issue edited during the walk, after its page was read, has
    # `updated` >= the start and so falls inside the next query.
    if run["max_updated_ms"] is not None:
        state.watermark_ms = max(
            state.watermark_ms or 0, min(int(run["max_updated_ms"]), int(run["started_ms"]))
        )
    now = utcnow()
    counts_out = dict(state.counts)
    counts_out.update(
        tickets=run["tickets"], pages=run["pages"], changed=run["changed"], mode=run["mode"]
    )
    if reconciled:
        counts_out.update(
            deactivated=counts.deactivated,
            reactivated=counts.reactivated,
            runs_since_reconcile=0,
        )
    else:
        counts_out["runs_since_reconcile"] = int(counts_out.get("runs_since_reconcile", 0)) + 1
    run["phase"] = "done"
    extra: dict[str, Any] = {"last_reconciled_at": now} if reconciled else {}
    if run["mode"] == "full":
        extra["full_sync_done"] = True
    async with state.runtime.session() as s:
        ok = await SyncRepository(s).release(
            state.connection_id,
            state.owner,
            status="IDLE",
            phase=None,
            cursor={"watermark_ms": state.watermark_ms},
            counts=counts_out,
            last_finished_at=now,
            last_success_at=now,
            last_error=None,
            **extra,
        )
        if not ok:
            raise SyncAlreadyRunning("the sync lease was taken over by another runner")
    await state.progress()
    result.pages, result.tickets, result.changed = run["pages"], run["tickets"], run["changed"]
    result.reconciled = reconciled
    result.deactivated, result.reactivated = counts.deactivated, counts.reactivated
    result.watermark_ms = state.watermark_ms
    result.finished_at = now
    log.info("sync_finished", connection_id=str(state.connection_id), **_loggable(result))
    return result


def _loggable(result: SyncResult) -> dict[str, Any]:
    data = asdict(result)
    for key in ("connection_id", "started_at", "finished_at"):
        data.pop(key, None)
    return data


async def _fail(state: _Run, exc: BaseException) -> None:
    if isinstance(exc, SyncAlreadyRunning) or not state.run:
        return
    message = _describe(exc)
    log.warning("sync_failed", connection_id=str(state.connection_id), error=message)
    try:
        async with state.runtime.session() as s:
            # The cursor keeps the last committed checkpoint: the next run resumes there.
            await SyncRepository(s).release(
                state.connection_id,
                state.owner,
                status="FAILED",
                last_error=message,
                last_finished_at=utcnow(),
            )
    except Exception as cleanup:  # the original error matters more; the lease expires anyway
        log.warning("sync_fail_record_failed", error=type(cleanup).__name__)
