"""Sync phase 2: the ticket pages, each upserted and checkpointed in one transaction."""

from __future__ import annotations

import gc
from collections.abc import Sequence

from ticketbridge.catalog.repository import CatalogRepository
from ticketbridge.connectors import NormalizedIssue, SyncConnector
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.sync.run import RunState, epoch_ms
from ticketbridge.tickets.repository import TicketRepository


def release_page_garbage() -> None:
    """Free the last page now rather than at the next full collection.

    An httpx response and its stream reference each other, so each page's response body
    (hundreds of KB) lives until the cyclic GC runs. By then it has usually reached the
    young generations' end; a full collection may be far away in a big process, letting
    garbage pile up with the number of pages. A generation-1 collection is cheap (young
    objects only) and catches most of it.
    """
    gc.collect(1)


async def store_page(state: RunState, issues: Sequence[NormalizedIssue], last: bool) -> None:
    """One page in one transaction: its people, its tickets and the checkpoint."""
    runtime, cid, run = state.runtime, state.connection_id, state.run
    async with runtime.session() as s:
        users = [p for i in issues for p in i.people]
        if users:
            await CatalogRepository(s).upsert_users(cid, users)
        changed = await TicketRepository(s).upsert_page(cid, issues)
        stamps = [m for m in (epoch_ms(i.vendor_updated_at) for i in issues) if m is not None]
        if stamps:
            run["max_updated_ms"] = max([*stamps, run["max_updated_ms"] or 0])
        run["pages"] += 1
        run["tickets"] += len(issues)
        run["changed"] += changed
        if last:
            run["phase"] = "reconcile"
            await TicketRepository(s).resolve_parents(cid)
        await state.checkpoint(SyncRepository(s))


async def sync_tickets(
    state: RunState,
    connector: SyncConnector,
    project_keys: list[str] | None,
    *,
    estimate_total: bool,
) -> None:
    run, config = state.run, state.config
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
        await store_page(state, issues, token is None)
        del issues
        release_page_garbage()
        await state.progress()
        if token is None:
            return
