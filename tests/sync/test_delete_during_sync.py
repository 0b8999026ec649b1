"""Deleting a connection while it syncs: the sync stops cleanly, nothing logs an
IntegrityError or SQL, and nothing of the connection is left in the store."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from tests.fixtures.emulator import seed
from tests.fixtures.tenants import Tenant
from ticketbridge.errors import NotFound
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import SyncState, Ticket
from ticketbridge.sync.run import SyncConfig, SyncProgress
from ticketbridge.sync.service import run_sync


async def test_delete_while_syncing_stops_the_sync_cleanly(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    fake_site: Site,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed(fake_site, projects=1, per_project=60, users=3)
    cid = uuid.UUID(str(tenant.connection_id))
    deleted: list[int] = []

    async def delete_after_first_page(p: SyncProgress) -> None:
        if p.tickets and not deleted:
            r = await client.delete(f"/v1/provisioning/connections/{cid}", headers=tenant.headers)
            deleted.append(r.status_code)

    caplog.set_level(logging.INFO)
    with pytest.raises(NotFound, match="deleted"):
        await run_sync(
            runtime,
            cid,
            full=True,
            config=SyncConfig(page_size=10),
            on_progress=delete_after_first_page,
        )
    assert deleted == [204]
    assert "IntegrityError" not in caplog.text
    assert "INSERT" not in caplog.text.upper().replace("INSERTED", "")
    async with runtime.session() as s:
        left = await s.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.connection_id == cid)
        )
        state = await s.get(SyncState, cid)
    assert left == 0 and state is None
