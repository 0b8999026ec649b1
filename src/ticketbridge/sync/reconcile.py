"""Deletion reconciliation: tickets whose issue vanished from the vendor become inactive.

Incremental queries cannot see deletions, so the sync periodically lists every issue id in
scope (``fields=id``, 5000 per page) into a TEMPORARY table and compares in SQL: memory holds
one page of ids at a time, whatever the number of issues. The whole comparison is one
transaction (the temporary table lives in that transaction's database connection).
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ticketbridge.connectors.base import SyncConnector
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.tickets.repository import TicketRepository


@dataclass
class ReconcileCounts:
    seen: int = 0
    deactivated: int = 0
    reactivated: int = 0


async def reconcile(
    runtime: Runtime,
    connector: SyncConnector,
    connection_id: uuid.UUID,
    project_keys: Sequence[str] | None,
) -> ReconcileCounts:
    counts = ReconcileCounts()
    # Tickets stored after this instant (e.g. created through the API meanwhile) may be
    # missing from a listing that started earlier; they are left alone.
    started = utcnow()
    async with runtime.session() as s:
        repo = SyncRepository(s)
        seen = await repo.open_seen()
        async for ids in connector.iter_issue_ids(connector.scope_jql(project_keys)):
            await repo.add_seen(ids)
            counts.seen += len(ids)
            del ids
            gc.collect(1)  # see tickets.release_page_garbage
        gone, back = await TicketRepository(s).set_active_by_presence(
            connection_id, seen, created_before=started
        )
        await repo.close_seen()
    counts.deactivated, counts.reactivated = gone, back
    return counts


async def retire_all(runtime: Runtime, connection_id: uuid.UUID) -> ReconcileCounts:
    """No project is in scope any more (the project filter matches nothing)."""
    async with runtime.session() as s:
        gone = await TicketRepository(s).deactivate_all(connection_id, created_before=utcnow())
    return ReconcileCounts(deactivated=gone)
