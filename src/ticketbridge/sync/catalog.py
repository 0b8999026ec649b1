"""Sync phase 1: projects, their issue types and their assignable users (the connection's
users for a vendor without projects), then assignment groups (``sync/groups.py``).

Each vendor page is written in its own committed transaction. Catalog sizes are small next to
tickets (projects and users number in the thousands at most), so the sets of ids seen in this
run, needed to retire what vanished, are kept in memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ticketbridge.catalog.repository import CatalogRepository
from ticketbridge.connectors import SyncConnector
from ticketbridge.errors import VendorNotFound
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.sync.groups import sync_groups

log = get_logger(__name__)


@dataclass
class CatalogCounts:
    projects: int = 0
    issue_types: int = 0
    users: int = 0
    groups: int = 0


async def sync_catalog(
    runtime: Runtime, connector: SyncConnector, connection_id: uuid.UUID
) -> CatalogCounts:
    counts = CatalogCounts()
    projects: list[tuple[uuid.UUID, str]] = []
    seen: list[str] = []
    async for page in connector.iter_projects():
        async with runtime.session() as s:
            repo = CatalogRepository(s)
            await repo.upsert_projects(connection_id, page)
            ids = await repo.projects_by_vendor_id(connection_id, [p.vendor_id for p in page])
        projects += [(ids[p.vendor_id], p.key) for p in page]
        seen += [p.vendor_id for p in page]
    async with runtime.session() as s:
        # Projects that left the vendor (or the connection's project filter) are retired.
        await CatalogRepository(s).deactivate_projects_except(connection_id, seen)
    counts.projects = len(projects)
    users: set[uuid.UUID] = set()
    for project_id, key in projects:
        try:
            counts.issue_types += await _issue_types(
                runtime, connector, connection_id, project_id, key
            )
            users.update(await _users(runtime, connector, connection_id, project_id, key))
        except VendorNotFound:
            # Deleted between the project list and now: the next run retires it.
            log.info("sync_project_vanished", connection_id=str(connection_id), project=key)
    if not connector.capabilities.projects:
        # A vendor without projects lists its assignable users for the whole connection.
        users.update(await _connection_users(runtime, connector, connection_id))
    counts.users = len(users)
    counts.groups = await sync_groups(runtime, connector, connection_id)
    return counts


async def _connection_users(
    runtime: Runtime, connector: SyncConnector, connection_id: uuid.UUID
) -> list[uuid.UUID]:
    seen: list[uuid.UUID] = []
    async for page in connector.iter_assignable_users(None):
        async with runtime.session() as s:
            seen += (await CatalogRepository(s).upsert_users(connection_id, page)).values()
    return seen


async def _issue_types(
    runtime: Runtime,
    connector: SyncConnector,
    connection_id: uuid.UUID,
    project_id: uuid.UUID,
    key: str,
) -> int:
    kept: list[str] = []
    async for page in connector.iter_issue_types(key):
        async with runtime.session() as s:
            await CatalogRepository(s).upsert_issue_types(connection_id, project_id, page)
        kept += [t.vendor_id for t in page]
    async with runtime.session() as s:
        await CatalogRepository(s).deactivate_issue_types_except(connection_id, project_id, kept)
    return len(kept)


async def _users(
    runtime: Runtime,
    connector: SyncConnector,
    connection_id: uuid.UUID,
    project_id: uuid.UUID,
    key: str,
) -> list[uuid.UUID]:
    members: list[uuid.UUID] = []
    async for page in connector.iter_assignable_users(key):
        async with runtime.session() as s:
            repo = CatalogRepository(s)
            ids = await repo.upsert_users(connection_id, page)
            await repo.link_project_users(project_id, list(ids.values()))
        members += ids.values()
    async with runtime.session() as s:
        # Membership mirrors "assignable in this project" now; the users themselves stay.
        await CatalogRepository(s).unlink_project_users_except(project_id, members)
    return members
