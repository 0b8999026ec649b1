"""Bounded resources: a slow vendor must not take the database pool.

Account A's vendor calls are held at a gate in front of the emulator (the in-process
transport), so they are certainly in flight while account B is served; nothing here measures
time. Before the fix every waiting request kept its pooled connection, so 32 of them
exhausted the pool and B's reads queued until the pool timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from tests.fixtures.emulator import seed
from tests.fixtures.tenants import Tenant, make_tenant
from tests.sync.test_incremental import leaves
from ticketbridge.bulk.create import CachingConnector, prepare
from ticketbridge.config import Settings
from ticketbridge.connectors.registry import for_connection
from ticketbridge.fakejira import FakeJiraState, Site
from ticketbridge.fakejira import create_app as create_fake_jira
from ticketbridge.provisioning.repository import ConnectionRepository, OrganizationRepository
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Organization
from ticketbridge.store.session import release_connection
from ticketbridge.sync.run import SyncConfig
from ticketbridge.sync.service import run_sync

SLOW_CALLS = 32
# A hang guard only: B's reads are asserted to finish while A's calls are still held.
GUARD_SECS = 15.0

_in_test_request: contextvars.ContextVar[bool] = contextvars.ContextVar("in_test_request")


class GatedTransport(httpx.AsyncBaseTransport):
    """The emulator behind a gate: vendor requests wait until ``release()``. Records how many
    were in flight at once and how many pooled connections the calling request held."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.in_flight = 0
        self.peak = 0
        self.held: list[int] = []
        self.probe: HeldConnections | None = None

    def release(self) -> None:
        self.gate.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.probe is not None:
            self.held.append(self.probe.count())
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.gate.wait()
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


class HeldConnections:
    """Pooled connections checked out by the test's own requests (a context variable marks
    them, so the job runner's polling never counts)."""

    def __init__(self, runtime: Runtime) -> None:
        self._held: set[int] = set()
        engine = runtime.engine.sync_engine
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)

    def _checkout(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        if _in_test_request.get(False):
            self._held.add(id(record))

    def _checkin(self, _dbapi: Any, record: Any) -> None:
        self._held.discard(id(record))

    def count(self) -> int:
        return len(self._held)


@pytest.fixture
def vendor_transport(fake_jira: FakeJiraState) -> GatedTransport:
    return GatedTransport(httpx.ASGITransport(app=create_fake_jira(fake_jira)))


async def _guarded(call: Awaitable[httpx.Response]) -> httpx.Response:
    return await asyncio.wait_for(call, GUARD_SECS)


async def _until(condition: Any, what: str) -> None:
    async with asyncio.timeout(GUARD_SECS):
        while not condition():
            await asyncio.sleep(0.01)


class TestSlowVendorDoesNotStarveOthers:
    async def test_other_account_reads_while_32_slow_calls_wait(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        vendor_transport: GatedTransport,
        fake_jira: FakeJiraState,
    ) -> None:
        a = await make_tenant(client, runtime, "attacker")
        b = await make_tenant(client, runtime, "bystander")
        cap = runtime.settings.vendor_max_concurrency
        limiter = runtime.connectors.limiter(str(a.connection_id))
        slow = [
            asyncio.create_task(
                client.post(
                    f"/v1/provisioning/connections/{a.connection_id}/test", headers=a.headers
                )
                if i % 2
                else client.post(
                    "/v1/itsm/tickets",
                    json={
                        "name": f"slow {i}",
                        "project_vendor_id": "DEMO",
                        "type_vendor_id": "10001",
                    },
                    headers=a.headers,
                )
            )
            for i in range(SLOW_CALLS)
        ]
        pool: Any = runtime.engine.sync_engine.pool

        def settled() -> bool:
            # Every slow call waits at the vendor or on the connection's limiter, or (before
            # the fix) the slow calls hold every pooled connection.
            queued = vendor_transport.in_flight + len(limiter._waiters or ())
            return queued == SLOW_CALLS or pool.checkedout() >= pool.size() + pool._max_overflow

        await _until(settled, "A's calls to settle")

        orgs = await _guarded(client.get("/v1/provisioning/organizations", headers=b.headers))
        tickets = await _guarded(client.get("/v1/itsm/tickets", headers=b.headers))
        ready = await _guarded(client.get("/readyz"))

        assert (orgs.status_code, tickets.status_code, ready.status_code) == (200, 200, 200)
        assert orgs.json()["total"] == 1
        assert not any(t.done() for t in slow), "A's calls must still be in flight"
        # The per-connection cap holds for /test and creates alike.
        assert vendor_transport.peak == cap

        vendor_transport.release()
        answers = await asyncio.wait_for(asyncio.gather(*slow), GUARD_SECS)
        assert [r.status_code for r in answers] == [200] * SLOW_CALLS
        assert {r.json()["health"] for r in answers[1::2]} == {"HEALTHY"}
        assert fake_jira.site("acme.atlassian.net").issues_count() == SLOW_CALLS // 2


class TestNoConnectionHeldAcrossVendorCalls:
    """Every kind of request that calls the vendor holds no pooled connection meanwhile."""

    @pytest.fixture
    async def probed(
        self, client: httpx.AsyncClient, runtime: Runtime, vendor_transport: GatedTransport
    ) -> Tenant:
        tenant = await make_tenant(client, runtime, "acme")
        vendor_transport.release()
        vendor_transport.probe = HeldConnections(runtime)
        _in_test_request.set(True)
        return tenant

    async def test_create_update_test_bulk_and_passthrough(
        self, client: httpx.AsyncClient, probed: Tenant, vendor_transport: GatedTransport
    ) -> None:
        h = probed.headers
        created = await client.post(
            "/v1/itsm/tickets",
            # A type *name* on a vendor-id project: the issue types are asked from Jira first.
            json={"name": "one", "project_vendor_id": "DEMO", "type": "Task"},
            headers={**h, "Idempotency-Key": "k-1"},
        )
        assert created.status_code == 200, created.text
        updated = await client.patch(
            f"/v1/itsm/tickets/{created.json()['id']}", json={"name": "two"}, headers=h
        )
        assert updated.status_code == 200, updated.text
        tested = await client.post(
            f"/v1/provisioning/connections/{probed.connection_id}/test", headers=h
        )
        assert tested.json()["health"] == "HEALTHY"
        bulk = await client.post(
            "/v1/itsm/tickets/bulk/sync",
            json={"tickets": [{"name": "b", "project_vendor_id": "DEMO", "type": "Task"}]},
            headers=h,
        )
        assert bulk.status_code == 200, bulk.text
        projects = await client.get("/v1/itsm/passthrough/projects", headers=h)
        assert projects.status_code == 200, projects.text

        assert len(vendor_transport.held) >= 6
        assert vendor_transport.held == [0] * len(vendor_transport.held)

    async def test_bulk_job_item_preparation(
        self, runtime: Runtime, probed: Tenant, vendor_transport: GatedTransport
    ) -> None:
        # What a bulk job's chunk does inside its own session (bulk/jobs.py): read the store
        # (the identifier), then ask Jira for the issue types of a vendor-id project.
        async with runtime.session() as s:
            conn = await ConnectionRepository(s).get(uuid.UUID(str(probed.connection_id)))
            assert conn is not None
            connector = CachingConnector(for_connection(conn, runtime))
            ticket = {"name": "j", "project_vendor_id": "DEMO", "type": "Task", "identifier": "j-1"}
            [item] = await prepare(s, connector, conn, [ticket], ["j-1"], range(1))
        assert item.error is None and item.spec is not None
        # Two vendor calls (the identifier's marker search, the issue types): neither holds one.
        assert vendor_transport.held == [0, 0]

    async def test_sync_with_reconciliation(
        self,
        runtime: Runtime,
        probed: Tenant,
        fake_site: Site,
        vendor_transport: GatedTransport,
    ) -> None:
        seed(fake_site, projects=1, per_project=30)
        cid = uuid.UUID(str(probed.connection_id))
        await run_sync(runtime, cid)
        fake_site.delete_issue(leaves(fake_site)[0])
        vendor_transport.held.clear()

        result = await run_sync(runtime, cid, config=SyncConfig(reconcile_every_runs=1))

        assert (result.reconciled, result.deactivated) == (True, 1)
        assert vendor_transport.held and set(vendor_transport.held) == {0}


class TestPoolExhaustedFailsFast:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"db_pool_size": 1, "db_pool_timeout_secs": 0.2})

    async def test_503_with_retry_after_then_recovers(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
    ) -> None:
        async with AsyncExitStack() as held:
            # Pool of 1 plus 1 overflow: take both, as stuck requests would.
            for _ in range(2):
                await held.enter_async_context(runtime.engine.connect())
            busy = await client.get("/v1/provisioning/organizations", headers=tenant.headers)
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "2"
        assert busy.json() == {"detail": "the database is busy; retry shortly", "errors": []}
        again = await client.get("/v1/provisioning/organizations", headers=tenant.headers)
        assert again.status_code == 200


class TestReleaseConnection:
    @pytest.fixture
    async def held(self, runtime: Runtime) -> HeldConnections:
        probe = HeldConnections(runtime)
        _in_test_request.set(True)
        return probe

    async def test_a_read_phase_gives_its_connection_back(
        self, runtime: Runtime, held: HeldConnections
    ) -> None:
        async with runtime.session() as s:
            await OrganizationRepository(s).list_for_account(uuid.uuid4(), limit=1, offset=0)
            assert held.count() == 1
            assert await release_connection(s) is True
            assert held.count() == 0

    async def test_a_transaction_that_wrote_keeps_its_connection(
        self, runtime: Runtime, tenant: Tenant, held: HeldConnections
    ) -> None:
        async with runtime.session() as s:
            await s.execute(update(Organization).values(name="renamed"))
            assert await release_connection(s) is False
            assert held.count() == 1
            await s.rollback()
        async with runtime.session() as s:
            names = {o.name for o in (await s.scalars(select(Organization))).all()}
        assert names == {"acme org"}  # nothing was committed behind the boundary's back
