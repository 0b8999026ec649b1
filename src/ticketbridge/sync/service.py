"""One sync run of one connection: catalog, ticket pages, then (when due) reconciliation.

A run is a job boundary: it opens and commits its own transactions, one per vendor page, and
checkpoints ``SyncState.cursor`` in the same transaction as the page's rows, so a run killed
at any point resumes from its last committed page. See docs/sync.md for the cursor layout
and the exact resume and watermark rules.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from ticketbridge import metrics
from ticketbridge.catalog.repository import CatalogRepository
from ticketbridge.connectors import SyncConnector, for_connection
from ticketbridge.errors import Conflict, NotFound
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.sync.catalog import sync_catalog
from ticketbridge.sync.reconcile import ReconcileCounts, reconcile, retire_all
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.sync.run import (
    ProgressHook,
    RunState,
    SyncAlreadyRunning,
    SyncConfig,
    SyncProgress,
    SyncResult,
    default_owner,
    describe,
    now_ms,
)
from ticketbridge.sync.tickets import sync_tickets

# The public API of the sync, importable from here.
__all__ = [
    "ProgressHook",
    "SyncAlreadyRunning",
    "SyncConfig",
    "SyncProgress",
    "SyncResult",
    "run_sync",
]

log = get_logger(__name__)


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
    state = RunState(
        runtime, connection_id, owner or default_owner(), config or SyncConfig(), on_progress
    )
    connector = await start_run(state, full=full)
    timer, outcome = metrics.Timer(), "FAILED"
    try:
        result = await _execute(state, connector, estimate_total=estimate_total)
        outcome = "SUCCESS"
        return result
    except Exception as exc:
        if await _connection_deleted(state):
            # Its rows cascaded away under us: a page write hit the foreign key (or the lease
            # row was gone). That is the sync's end, not an error worth a traceback.
            outcome = "DELETED"
            log.info("sync_stopped_connection_deleted", connection_id=str(connection_id))
            raise NotFound("the connection was deleted during the sync; it stopped") from None
        await _fail(state, exc)
        raise
    except BaseException as exc:
        await _fail(state, exc)
        raise
    finally:
        mode = str(state.run.get("mode", "unknown"))
        metrics.observe_sync(str(connection_id), mode, outcome, timer.elapsed)


async def start_run(state: RunState, *, full: bool) -> SyncConnector:
    """Take the lease and set up (or resume) the run's cursor; the connection's connector."""
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
                "started_ms": now_ms(),
                "resumes": 0,
            }
        state.result = SyncResult(cid, state.run["mode"], resumed)
        await state.checkpoint(repo, status="RUNNING", last_started_at=utcnow(), last_error=None)
        connector = for_connection(conn, runtime)
    log.info("sync_started", connection_id=str(cid), mode=state.run["mode"], resumed=resumed)
    return connector


async def _execute(
    state: RunState, connector: SyncConnector, *, estimate_total: bool
) -> SyncResult:
    runtime, cid, run, result = state.runtime, state.connection_id, state.run, state.result
    assert result is not None
    if run["phase"] == "catalog":
        if run["mode"] == "full" and runtime.offload is not None:
            runtime.offload.start()  # its ticket pages will be mapped there: start it now
        await state.progress()
        catalog = await sync_catalog(runtime, connector, cid)
        state.counts.update(
            projects=catalog.projects,
            issue_types=catalog.issue_types,
            users=catalog.users,
            groups=catalog.groups,
        )
        run["phase"] = "tickets"
        async with runtime.session() as s:
            await state.checkpoint(SyncRepository(s), counts=state.counts)
    # A resumed run skipped the catalog: report what the interrupted attempt found.
    result.projects = int(state.counts.get("projects", 0))
    result.issue_types = int(state.counts.get("issue_types", 0))
    result.users = int(state.counts.get("users", 0))
    project_keys = await _project_keys(state)
    if run["phase"] == "tickets":
        if project_keys == []:
            run["phase"] = "reconcile"
        else:
            await sync_tickets(state, connector, project_keys, estimate_total=estimate_total)
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


async def _project_keys(state: RunState) -> list[str] | None:
    """None means every project; a list restricts searches to the filtered projects that
    exist (a filter naming a missing project would make Jira refuse the whole query)."""
    if not state.filtered:
        return None
    async with state.runtime.session() as s:
        rows = await CatalogRepository(s).active_project_keys(state.connection_id)
    return [key for _, key in rows]


def _reconcile_due(state: RunState) -> bool:
    if state.run["mode"] == "full":
        return True
    runs = int(state.counts.get("runs_since_reconcile", 0)) + 1
    if runs >= state.config.reconcile_every_runs:
        return True
    last = state.last_reconciled_at
    interval = timedelta(seconds=state.config.reconcile_interval_secs)
    return last is None or utcnow() - last >= interval


async def _finish(state: RunState, counts: ReconcileCounts, reconciled: bool) -> SyncResult:
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


async def _connection_deleted(state: RunState) -> bool:
    try:
        async with state.runtime.session() as s:
            return await SyncRepository(s).connection(state.connection_id) is None
    except Exception:  # the database itself is the trouble: report the original error
        return False


def _loggable(result: SyncResult) -> dict[str, Any]:
    data = asdict(result)
    for key in ("connection_id", "started_at", "finished_at"):
        data.pop(key, None)
    return data


async def _fail(state: RunState, exc: BaseException) -> None:
    if isinstance(exc, SyncAlreadyRunning) or not state.run:
        return
    message = describe(exc)
    log.warning("sync_failed", connection_id=str(state.connection_id), error=message, exc_info=exc)
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
