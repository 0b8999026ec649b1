"""Distributed mode on PostgreSQL: procrastinate dispatch and recovery, and the cross-process
vendor concurrency limit (advisory-lock slots). Runs in its own fresh database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from sqlalchemy import update
from sqlalchemy.engine import make_url

from tests.fixtures.database import scratch_database
from tests.jobs.conftest import StoreTenant, tickets
from ticketbridge.bulk.service import enqueue_create
from ticketbridge.config import Settings
from ticketbridge.fakejira import Site
from ticketbridge.handlers import job_handlers
from ticketbridge.jobs import tasks
from ticketbridge.jobs.limiter import PgSlotLimiter, open_slot_pool
from ticketbridge.jobs.procrastinate_runner import (
    ProcrastinateRunner,
    apply_schema,
    build_app,
)
from ticketbridge.jobs.repository import JobRepository
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.migrate import upgrade
from ticketbridge.store.models import Job
from ticketbridge.store.urls import libpq_url
from ticketbridge.sync import tasks as sync_tasks
from ticketbridge.sync.repository import SyncRepository


@pytest.fixture(scope="module")
def distributed_db(pg_server_url: str) -> Iterator[str]:
    """A database of its own (procrastinate's schema must not leak into the shared one)."""
    with scratch_database(pg_server_url, f"tb_jobs_{uuid.uuid4().hex[:12]}") as url:
        upgrade(url)
        yield url


@pytest.fixture(params=["postgres"])
def db_url(distributed_db: str) -> str:
    return distributed_db


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings (on ``distributed_db``) in distributed mode."""
    return settings.model_copy(update={"mode": "distributed"})


@pytest.fixture
async def procrastinate_app(settings: Settings) -> AsyncIterator[Any]:
    apply_schema(settings)
    app = build_app(settings, handlers=job_handlers())
    async with app.open_async():
        await app.connector.execute_query_async("DELETE FROM procrastinate_jobs")
        yield app


async def queued(app: Any) -> list[dict[str, Any]]:
    rows = await app.connector.execute_query_all_async(
        "SELECT task_name, queueing_lock, args, status FROM procrastinate_jobs ORDER BY id"
    )
    return list(rows)


class TestSchema:
    def test_applying_twice_is_harmless(self, settings: Settings) -> None:
        apply_schema(settings)

        assert apply_schema(settings) is False
        with psycopg.connect(make_url(settings.database_url).render_as_string(False)) as conn:
            row = conn.execute("SELECT to_regclass('public.procrastinate_jobs')").fetchone()
        assert row is not None and row[0] == "procrastinate_jobs"


class TestDispatch:
    async def test_enqueue_defers_one_task_per_job(
        self, procrastinate_app: Any, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        async with runtime.session() as s:
            job = await enqueue_create(s, runtime, store_tenant.connection, tickets(2))
        runner = ProcrastinateRunner(procrastinate_app)

        await runner.enqueue(job.id)
        await runner.enqueue(job.id)  # a second copy is refused while one waits

        assert await queued(procrastinate_app) == [
            {
                "task_name": "jobs.run",
                "queueing_lock": f"job:{job.id}",
                "args": {"job_id": str(job.id)},
                "status": "todo",
            }
        ]

    async def test_a_worker_runs_the_job(
        self, procrastinate_app: Any, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        async with runtime.session() as s:
            job = await enqueue_create(s, runtime, store_tenant.connection, tickets(60))
        await ProcrastinateRunner(procrastinate_app).enqueue(job.id)

        await procrastinate_app.run_worker_async(
            wait=False,
            install_signal_handlers=False,
            additional_context={"runtime": runtime},
            queues=["default"],
        )

        async with runtime.session() as s:
            done = await JobRepository(s).get(job.id)
        assert done is not None and done.status == "SUCCESS", done.results[:2]
        assert fake_site.issues_count() == 60
        runs = [r for r in await queued(procrastinate_app) if r["task_name"] == "jobs.run"]
        assert [r["status"] for r in runs] == ["succeeded"]


class TestWakeUp:
    async def test_a_deferred_job_wakes_a_waiting_worker(
        self,
        procrastinate_app: Any,
        runtime: Runtime,
        store_tenant: StoreTenant,
        fake_site: Site,
        settings: Settings,
    ) -> None:
        # No periodic deferrals and an hour between polls: only the defer's NOTIFY can wake
        # the worker once it waits.
        procrastinate_app.periodic_registry.periodic_tasks.clear()
        worker = asyncio.create_task(
            procrastinate_app.run_worker_async(
                install_signal_handlers=False,
                additional_context={"runtime": runtime},
                listen_notify=True,
                fetch_job_polling_interval=3600,
            )
        )
        try:
            await wait_listening(settings)
            async with runtime.session() as s:
                job = await enqueue_create(s, runtime, store_tenant.connection, tickets(3))
            await ProcrastinateRunner(procrastinate_app).enqueue(job.id)

            for _ in range(500):  # bounded: 10 s
                async with runtime.session() as s:
                    done = await JobRepository(s).get(job.id)
                if done is not None and done.status == "SUCCESS":
                    break
                await asyncio.sleep(0.02)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

        assert done is not None and done.status == "SUCCESS"
        assert fake_site.issues_count() == 3


async def wait_listening(settings: Settings) -> None:
    """Until a session of this database LISTENs (the worker's notification listener)."""
    url = make_url(settings.resolved_database_url)
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE 'LISTEN %%'"
    async with await psycopg.AsyncConnection.connect(
        libpq_url(settings.resolved_database_url), autocommit=True
    ) as conn:
        for _ in range(500):
            row = await (await conn.execute(query, (url.database,))).fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the worker never listened")


class TestRecovery:
    async def test_lost_and_abandoned_jobs_are_deferred_again(
        self, procrastinate_app: Any, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        async with runtime.session() as s:
            lost = await enqueue_create(s, runtime, store_tenant.connection, tickets(1))
            fresh = await enqueue_create(s, runtime, store_tenant.connection, tickets(1))
            abandoned = await enqueue_create(s, runtime, store_tenant.connection, tickets(1))
        old = utcnow() - timedelta(minutes=5)
        async with runtime.session() as s:
            await s.execute(update(Job).where(Job.id == lost.id).values(created_at=old))
            repo = JobRepository(s)
            await repo.claim(abandoned.id, "dead-worker", old, 1)  # its lease ran out long ago
        context = SimpleNamespace(app=procrastinate_app, additional_context={"runtime": runtime})

        await tasks.recover(context, 0)  # type: ignore[arg-type]

        deferred = {r["args"]["job_id"] for r in await queued(procrastinate_app)}
        assert deferred == {str(lost.id), str(abandoned.id)}  # not the fresh QUEUED one
        assert str(fresh.id) not in deferred


class TestSlotLimiter:
    async def test_slots_bound_concurrency_across_processes(self, settings: Settings) -> None:
        connection_id = str(uuid.uuid4())
        inside, peak = 0, 0

        async def call(limiter: PgSlotLimiter) -> None:
            nonlocal inside, peak
            async with limiter:
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.02)
                inside -= 1

        url = settings.resolved_database_url
        async with open_slot_pool(url, 4) as pool_a, open_slot_pool(url, 4) as pool_b:
            # Two "processes": each with its own pool and its own local permits.
            a = PgSlotLimiter(pool_a, connection_id, 2)
            b = PgSlotLimiter(pool_b, connection_id, 2)
            await asyncio.gather(*(call(a if i % 2 else b) for i in range(12)))

        assert peak == 2

    async def test_a_dead_process_leaks_no_slot(self, settings: Settings) -> None:
        connection_id = str(uuid.uuid4())
        url = settings.resolved_database_url
        held, got = asyncio.Event(), asyncio.Event()

        async def hold(limiter: PgSlotLimiter) -> None:
            async with limiter:
                held.set()
                await asyncio.Event().wait()

        async def take(limiter: PgSlotLimiter) -> None:
            async with limiter:
                got.set()

        async with open_slot_pool(url, 2) as pool_b:
            async with open_slot_pool(url, 2) as pool_a:
                holder = PgSlotLimiter(pool_a, connection_id, 1)
                holding = asyncio.create_task(hold(holder))
                await asyncio.wait_for(held.wait(), 5)  # the only slot is taken
                waiting = asyncio.create_task(take(PgSlotLimiter(pool_b, connection_id, 1)))
                await asyncio.sleep(0.2)
                blocked = not got.is_set()
                conn, _ = next(iter(holder._held.values()))
                await conn.close()  # its process dies: PostgreSQL frees the session's locks
                await asyncio.wait_for(got.wait(), 5)
                holding.cancel()
                await asyncio.gather(holding, return_exceptions=True)
            await waiting

        assert blocked and got.is_set()


class TestScheduledSyncs:
    async def test_due_connections_are_synced_by_workers(
        self, procrastinate_app: Any, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        context = SimpleNamespace(app=procrastinate_app, additional_context={"runtime": runtime})

        await sync_tasks.schedule_syncs(context, 0)  # type: ignore[arg-type]
        await sync_tasks.schedule_syncs(context, 0)  # type: ignore[arg-type]  (no second copy)
        deferred = [r for r in await queued(procrastinate_app) if r["task_name"] == "sync.run"]
        await procrastinate_app.run_worker_async(
            wait=False,
            install_signal_handlers=False,
            additional_context={"runtime": runtime},
        )

        mine = [
            r for r in deferred if r["args"] == {"connection_id": str(store_tenant.connection.id)}
        ]
        assert len(mine) == 1
        async with runtime.session() as s:
            state = await SyncRepository(s).state(store_tenant.connection.id)
        assert state is not None and state.last_success_at is not None
