"""Sync step: assignment groups, for vendors whose capabilities include them.

A small step of its own (after the catalog): each vendor page is upserted in its own
transaction; groups the vendor no longer lists are marked inactive at the end. Group counts
are small (hundreds), so the ids seen are kept in memory.
"""

from __future__ import annotations

import uuid

from ticketbridge.catalog.group_repository import GroupRepository
from ticketbridge.connectors import GroupsConnector, SyncConnector
from ticketbridge.runtime import Runtime


async def sync_groups(runtime: Runtime, connector: SyncConnector, connection_id: uuid.UUID) -> int:
    """The number of groups the vendor listed (0 for a vendor without groups)."""
    if not connector.capabilities.groups or not isinstance(connector, GroupsConnector):
        return 0
    seen: list[str] = []
    async for page in connector.iter_groups():
        async with runtime.session() as s:
            await GroupRepository(s).upsert_groups(connection_id, page)
        seen += [g.vendor_id for g in page]
    async with runtime.session() as s:
        await GroupRepository(s).deactivate_except(connection_id, seen)
    return len(seen)
