"""Triggers: ``POST/GET /v1/itsm/sync``, the embedded scheduler and ``ticketbridge sync``."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from tests.fixtures.emulator import seed
from tests.fixtures.store import sync_state
from tests.fixtures.tenants import Tenant, cid
from ticketbridge import cli
from ticketbridge.config import Settings
from ticketbridge.errors import NotFound
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime, open_runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Connection, IssueType, Project, SyncState, Ticket, User
from ticketbridge.sync import cli as sync_cli
from ticketbridge.sync import scheduler as scheduler_module
from ticketbridge.sync.repository import ScheduleRow
from ticketbridge.sync.run import SyncConfig
from ticketbridge.sync.scheduler import SyncScheduler, runs_periodically
from ticketbridge.sync.service import run_sync

SYNC = "/v1/itsm/sync"


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Background syncs wait for this event before starting (deterministic "running")."""
    opened = asyncio.Event()

    async def gated(*args: Any, **kwargs: Any) -> Any:
        await opened.wait()
        return await run_sync(*args, **kwargs)

    monkeypatch.setattr(scheduler_module, "run_sync", gated)
    return opened


async def ticket_count(runtime: Runtime, tenant: Tenant) -> int:
    async with runtime.session() as s:
        n = await s.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.connection_id == cid(tenant))
        )
        return int(n or 0)


class TestSyncEndpoint:
    async def test_post_runs_a_sync_in_the_background(
        self,
        client: httpx.AsyncClient,
        app: Any,
        runtime: Runtime,
        fake_site: Site,
        tenant: Tenant,
        gate: asyncio.Event,
    ) -> None:
        seed(fake_site, projects=2, per_project=60)

        r = await client.post(SYNC, headers=tenant.headers)

        assert r.status_code == 202
        assert r.json() == {
            "connection_id": tenant.connection_id,
            "full": False,
            "status": "RUNNING",
        }
        again = await client.post(SYNC, headers=tenant.headers)
        assert (again.status_code, again.json()) == (
            409,
            {"detail": "a sync of this connection is already running", "errors": []},
        )
        running = (await client.get(SYNC, headers=tenant.headers)).json()
        assert (running["status"], running["running"]) == ("RUNNING", True)
        task = app.state.services.sync_scheduler.task(cid(tenant))
        gate.set()
        await task

        state = (await client.get(SYNC, headers=tenant.headers)).json()
        assert (state["status"], state["running"], state["full_sync_done"]) == ("IDLE", False, True)
        assert state["counts"]["tickets"] == 120 and state["last_error"] is None
        assert state["last_success_at"] is not None and state["watermark"] is not None
        assert await ticket_count(runtime, tenant) == 120

    async def test_state_before_any_sync(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        state = (await client.get(SYNC, headers=tenant.headers)).json()
        assert (state["status"], state["running"], state["last_success_at"]) == (
            "NEVER",
            False,
            None,
        )

    async def test_a_failed_sync_is_reported(
        self, client: httpx.AsyncClient, app: Any, fake_site: Site, tenant: Tenant
    ) -> None:
        fake_site.set_api_token("admin@example.com", "rotated")
        await client.post(SYNC, headers=tenant.headers)
        await app.state.services.sync_scheduler.task(cid(tenant))

        state = (await client.get(SYNC, headers=tenant.headers)).json()
        assert (state["status"], state["running"], state["phase"]) == ("FAILED", False, "catalog")
        assert state["last_error"].startswith("VendorAuthFailed: Jira rejected the connection")

    async def test_a_lease_held_by_another_process_is_409(
        self, client: httpx.AsyncClient, runtime: Runtime, fake_site: Site, tenant: Tenant
    ) -> None:
        await run_sync(runtime, cid(tenant))
        async with runtime.session() as s:
            await s.execute(
                update(SyncState).values(
                    status="RUNNING",
                    lease_owner="worker-2",
                    lease_expires_at=utcnow() + timedelta(minutes=5),
                )
            )

        searches = fake_site.stats.total
        r = await client.post(SYNC, headers=tenant.headers)

        assert r.status_code == 409
        assert r.json() == {"detail": "a sync of this connection is already running", "errors": []}
        state = (await client.get(SYNC, headers=tenant.headers)).json()
        assert (state["status"], state["running"]) == ("RUNNING", True)
        held = await sync_state(runtime, cid(tenant))
        assert held.lease_owner == "worker-2"  # the other runner keeps its lease
        assert fake_site.stats.total == searches  # and nothing was fetched

    async def test_full_resync_on_request(
        self, client: httpx.AsyncClient, app: Any, runtime: Runtime, fake_site: Site, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=1, per_project=30)
        await run_sync(runtime, cid(tenant))
        r = await client.post(SYNC, params={"full": "true"}, headers=tenant.headers)
        assert r.json()["full"] is True
        await app.state.services.sync_scheduler.task(cid(tenant))

        assert (await sync_state(runtime, cid(tenant))).counts["mode"] == "full"

    async def test_needs_a_connection_of_the_account(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
    ) -> None:
        r = await client.post(
            SYNC, headers={"X-API-KEY": tenant.api_key, "X-CONNECTION-ID": str(uuid.uuid4())}
        )
        assert r.status_code == 404
        assert r.json() == {"detail": "connection not found", "errors": []}
        async with runtime.session() as s:
            assert await s.scalar(select(func.count()).select_from(SyncState)) == 0


class TestScheduler:
    async def test_tick_starts_due_connections_only(
        self, runtime: Runtime, fake_site: Site, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        seed(fake_site, projects=1, per_project=20)
        async with runtime.session() as s:  # a disabled connection is never scheduled
            await s.execute(
                update(Connection).where(Connection.id == cid(other_tenant)).values(is_active=False)
            )
        async with SyncScheduler(runtime, periodic=False) as scheduler:
            assert await scheduler.tick() == [cid(tenant)]
            await scheduler.task(cid(tenant))  # type: ignore[misc]
            assert await scheduler.tick() == []  # just synced
            async with runtime.session() as s:
                earlier = utcnow() - timedelta(seconds=901)  # the refresh interval (900 s)
                await s.execute(
                    update(SyncState).values(last_success_at=earlier, last_finished_at=earlier)
                )
            assert await scheduler.tick() == [cid(tenant)]
            await scheduler.task(cid(tenant))  # type: ignore[misc]
        assert (await sync_state(runtime, cid(tenant))).counts["mode"] == "incremental"

    async def test_failed_syncs_wait_for_the_retry_delay(self, runtime: Runtime) -> None:
        scheduler = SyncScheduler(runtime, periodic=False, retry_secs=300)
        now = utcnow()
        ids = [uuid.uuid4() for _ in range(5)]
        rows = [
            ScheduleRow(ids[0], 900, None, None, None),  # never synced
            ScheduleRow(ids[1], 900, now - timedelta(seconds=899), None, None),  # fresh
            ScheduleRow(ids[2], 900, None, now - timedelta(seconds=60), None),  # failed lately
            ScheduleRow(
                ids[3], 900, now - timedelta(hours=2), now - timedelta(seconds=400), None
            ),  # failed a while ago
            ScheduleRow(ids[4], 900, None, None, now + timedelta(minutes=1)),  # leased
        ]
        assert scheduler.due(rows) == [ids[0], ids[3]]

    @pytest.mark.parametrize(
        "mode,enabled,periodic",
        [
            ("embedded", True, True),
            ("embedded", False, False),
            ("distributed", True, False),
        ],
    )
    def test_the_periodic_loop_runs_only_when_embedded_and_enabled(
        self, settings: Settings, mode: str, enabled: bool, periodic: bool
    ) -> None:
        configured = settings.model_copy(update={"scheduler_enabled": enabled, "mode": mode})
        assert runs_periodically(configured) is periodic

    async def test_the_app_publishes_its_scheduler(self, app: Any) -> None:
        assert isinstance(app.state.services.sync_scheduler, SyncScheduler)
        assert app.state.services.sync_scheduler.periodic is False  # the tests' settings disable it


class TestCli:
    @pytest.fixture
    def env(
        self,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
        vendor_transport: httpx.AsyncBaseTransport,
    ) -> None:
        assert settings.secret_key is not None
        monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", settings.secret_key.get_secret_value())
        monkeypatch.setenv("TICKETBRIDGE_DATA_DIR", str(settings.data_dir))
        # The CLI's own runtime reaches the emulator in-process.
        monkeypatch.setattr(
            sync_cli,
            "open_runtime",
            functools.partial(open_runtime, vendor_transport=vendor_transport),
        )

    async def test_sync_command_runs_a_sync(
        self, env: None, runtime: Runtime, fake_site: Site, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=2, per_project=70)

        result = await asyncio.to_thread(
            CliRunner().invoke, cli.app, ["sync", "--connection", str(cid(tenant))]
        )

        assert result.exit_code == 0, result.output
        assert "full sync done: 140 tickets read in 2 pages, 140 changed" in result.output
        assert await ticket_count(runtime, tenant) == 140

    @pytest.mark.parametrize(
        "argument,code,message",
        [
            ("not-a-uuid", 2, "--connection must be a connection id"),
            (str(uuid.UUID(int=7)), 1, "sync failed: connection not found"),
        ],
    )
    async def test_sync_command_refuses_bad_connections(
        self, env: None, argument: str, code: int, message: str
    ) -> None:
        result = await asyncio.to_thread(
            CliRunner().invoke, cli.app, ["sync", "--connection", argument]
        )

        assert result.exit_code == code
        assert message in result.output


class TestConnectionDeletedMidSync:
    async def test_the_sync_stops_and_leaves_nothing_behind(
        self, client: httpx.AsyncClient, runtime: Runtime, fake_site: Site, tenant: Tenant
    ) -> None:
        """The connection is deleted through the API while its sync is between two pages: the
        sync fails instead of writing rows for a connection that is gone, and none of its
        rows (tickets, catalog, sync state) survive."""
        seed(fake_site, projects=2, per_project=60)
        url = f"/v1/provisioning/connections/{tenant.connection_id}"
        deleted: list[int] = []

        async def delete_after_first_page(progress: Any) -> None:
            if progress.phase == "tickets" and progress.pages == 1 and not deleted:
                deleted.append((await client.delete(url, headers=tenant.headers)).status_code)

        # The sync notices the connection is gone and stops (no IntegrityError, no rows).
        with pytest.raises(NotFound, match="deleted during the sync"):
            await run_sync(
                runtime,
                cid(tenant),
                config=dataclasses.replace(SyncConfig(), page_size=25),
                on_progress=delete_after_first_page,
            )

        assert deleted == [204]
        assert (await client.get(url, headers=tenant.headers)).status_code == 404
        async with runtime.session() as s:
            for model in (Ticket, SyncState, Project, IssueType, User):
                left = select(func.count()).select_from(model)
                assert await s.scalar(left) == 0, model.__name__
        r = await client.post(SYNC, headers=tenant.headers)
        assert r.status_code == 404
