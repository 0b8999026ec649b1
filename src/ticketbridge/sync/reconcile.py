"""Deletion reconciliation: tickets whose issue vanished from the vendor become inactive.

Incremental queries cannot see deletions, so the sync periodically lists every issue id in
scope (``fields=id``, 5000 per page) into a scratch file (:mod:`ticketbridge.sync.seen`), then
walks the stored tickets in pages and flips ``active`` where the listing disagrees: memory
holds one page at a time, whatever the number of issues, and no database connection is held
while the vendor lists (each page of the walk is its own short transaction).
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ticketbridge.connectors import SyncConnector
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.sync.seen import SeenIds
from ticketbridge.tickets.repository import TicketRepository

WALK_PAGE = 1000


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
    with SeenIds() as seen:
        async for ids in connector.iter_issue_ids(connector.scope_query(project_keys)):
            await seen.add(ids)
            counts.seen += len(ids)
            del ids
            gc.collect(1)  # see tickets.release_page_garbage
        after: uuid.UUID | None = None
        while True:
            async with runtime.session() as s:
                rows = await TicketRepository(s).presence_page(
                    connection_id, after=after, limit=WALK_PAGE
                )
            if not rows:
                break
            after = rows[-1].id
            listed = await seen.present([r.vendor_id for r in rows])
            gone = [
                r.id
                for r in rows
                if r.active and r.created_at < started and r.vendor_id not in listed
            ]
            back = [r.id for r in rows if not r.active and r.vendor_id in listed]
            if gone or back:
                async with runtime.session() as s:
                    repo = TicketRepository(s)
                    counts.deactivated += await repo.set_active(connection_id, gone, active=False)
                    counts.reactivated += await repo.set_active(connection_id, back, active=True)
    return counts


async def retire_all(runtime: Runtime, connection_id: uuid.UUID) -> ReconcileCounts:
    """No project is in scope any more (the project filter matches nothing)."""
    async with runtime.session() as s:
        gone = await TicketRepository(s).deactivate_all(connection_id, created_before=utcnow())
    return ReconcileCounts(deactivated=gone)
