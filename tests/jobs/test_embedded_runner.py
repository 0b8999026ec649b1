"""The embedded runner and the exactly-once bulk create across crashes (in-process)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.jobs.conftest import StoreTenant, expire_lease, tickets
from ticketbridge.bulk import jobs as bulk_jobs
from ticketbridge.bulk.service import enqueue_create
from ticketbridge.fakejira import Site
from ticketbridge.handlers import job_handlers
from ticketbridge.jobs.embedded import EmbeddedRunner
from ticketbridge.jobs.repository import JobChunkRepository, JobRepository
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Connection, Job

HANDLERS = job_handlers()

BULK_CREATE = "POST /rest/api/3/issue/bulk"
SEARCH = "POST /rest/api/3/search/jql"


async def wait_for(predicate: Any, what: str, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def crash() -> Any:
    """``async with crash(runner): ...`` stops the runner like ``kill -9``: its job tasks die
    where they stand and nothing is handed back (the leases run out on their own)."""

    async def keep_lease(*args: Any, **kwargs: Any) -> None:
        return None

    @asynccontextmanager
    async def killed(runner: EmbeddedRunner) -> AsyncIterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("ticketbridge.jobs.runner._release", keep_lease)
            async with runner.serve():
                yield

    return killed


async def enqueue(runtime: Runtime, store_tenant: StoreTenant, count: int) -> uuid.UUID:
    async with runtime.session() as s:
        job = await enqueue_create(s, runtime, store_tenant.connection, tickets(count))
    return job.id


async def load(runtime: Runtime, job_id: uuid.UUID) -> Job:
    async with runtime.session() as s:
        job = await JobRepository(s).get(job_id)
    assert job is not None
    return job


async def run_until_idle(runner: EmbeddedRunner) -> None:
    await runner.fill()
    await runner.idle()


def summaries(fake_site: Site) -> list[str]:
    return sorted(issue.summary for issue in fake_site.issues.values())


class TestRunsJobs:
    async def test_a_queued_job_runs_to_success(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        job_id = await enqueue(runtime, store_tenant, 60)

        await run_until_idle(EmbeddedRunner(runtime, HANDLERS))

        job = await load(runtime, job_id)
        assert job.status == "SUCCESS"
        assert (job.progress_total, job.progress_done, job.lease_owner) == (60, 60, None)
        assert fake_site.issues_count() == 60
        assert fake_site.stats.routes[BULK_CREATE] == 2  # chunks of 50
        async with runtime.session() as s:
            chunks = await JobChunkRepository(s).for_job(job_id)
        assert {c.status for c in chunks.values()} == {"DONE"}


class TestStartsAtOnce:
    async def test_a_submitted_job_is_started_by_its_notice_not_by_a_poll(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        # An hour between polls: only the hand-over can start the job.
        runner = EmbeddedRunner(runtime, HANDLERS, poll_interval=3600)
        async with runner.serve():
            await wait_for(lambda: runner.counts.scans == 1, "the start-up scan")
            job_id = await enqueue(runtime, store_tenant, 60)
            await runner.enqueue(job_id)
            await wait_for(lambda: runner.counts.started_by_notice == 1, "the job to start")
            await runner.idle()

        assert (await load(runtime, job_id)).status == "SUCCESS"
        assert fake_site.issues_count() == 60
        assert runner.counts.notified == 1 and runner.counts.started_by_scan == 0

    async def test_notices_beyond_the_free_slots_start_as_slots_free_up(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        runner = EmbeddedRunner(runtime, HANDLERS, concurrency=2, poll_interval=3600)
        async with runner.serve():
            await wait_for(lambda: runner.counts.scans == 1, "the start-up scan")
            ids = [await enqueue(runtime, store_tenant, 5) for _ in range(5)]
            for job_id in ids:
                await runner.enqueue(job_id)
            await wait_for(lambda: runner.counts.started_by_notice == 5, "every job to start")
            await runner.idle()

        assert [(await load(runtime, j)).status for j in ids] == ["SUCCESS"] * 5
        assert fake_site.issues_count() == 25
        assert runner.counts.started_by_scan == 0


class TestFairShare:
    async def test_a_small_job_is_not_queued_behind_a_big_one(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        """Two turns for the connection: the big job's 20 chunks take both; the small job's
        one chunk gets the next free turn (first come, first served would make it wait for
        the 18 chunks queued before it)."""
        fake_site.faults.configure({"latency_ms": 100})
        runtime.connectors.limits.max_concurrency = 2
        big = await enqueue(runtime, store_tenant, 1000)
        small = await enqueue(runtime, store_tenant, 5)
        turns = runtime.connectors.turns(str(store_tenant.connection.id))
        runner = EmbeddedRunner(runtime, HANDLERS)
        await runner.enqueue(big)
        await runner.fill(scan=False)
        await wait_for(lambda: turns.held.get(big) == 2, "the big job to take both turns")
        await runner.enqueue(small)
        await runner.fill(scan=False)
        await wait_for(lambda: small in turns.held, "the small job to get a turn")
        big_done_then = (await load(runtime, big)).progress_done
        await runner.idle()

        assert big_done_then <= 500, big_done_then
        assert [(await load(runtime, j)).status for j in (big, small)] == ["SUCCESS"] * 2
        assert fake_site.issues_count() == 1005


class TestExactlyOnce:
    async def test_a_crash_between_jira_and_the_database_creates_nothing_twice(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site, crash: Any
    ) -> None:
        job_id = await enqueue(runtime, store_tenant, 70)
        reached: list[int] = []

        async def stuck(*args: Any, **kwargs: Any) -> Any:
            reached.append(1)  # Jira created the chunk; the DONE commit never comes
            await asyncio.Event().wait()

        runner = EmbeddedRunner(runtime, HANDLERS, lease_secs=1.0)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bulk_jobs, "persist", stuck)
            async with crash(runner):
                await runner.enqueue(job_id)
                await wait_for(lambda: len(reached) == 2, "both chunks to reach Jira")
        crashed = await load(runtime, job_id)
        assert crashed.status == "RUNNING" and crashed.lease_owner == runner.owner
        assert fake_site.issues_count() == 70

        await expire_lease(runtime, job_id)  # the dead runner's lease runs out
        fake_site.stats.reset()
        await run_until_idle(EmbeddedRunner(runtime, HANDLERS, lease_secs=1.0))

        job = await load(runtime, job_id)
        assert job.status == "SUCCESS" and job.attempts >= 2
        assert fake_site.issues_count() == 70
        assert summaries(fake_site) == sorted(f"job ticket {i}" for i in range(70))
        assert BULK_CREATE not in fake_site.stats.routes  # found by marker: nothing resent
        # one marker search per SENT chunk; the found issues are stored without a read-back
        assert fake_site.stats.routes[SEARCH] == 2
        keys = [r["vendor_ticket_id"] for r in job.results]
        assert len(set(keys)) == 70

    async def test_a_crash_before_the_call_sends_the_chunk_on_resume(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site, crash: Any
    ) -> None:
        job_id = await enqueue(runtime, store_tenant, 5)
        intents: list[int] = []

        async def die_after_intent(connector: Any, items: Any, **kw: Any) -> Any:
            await kw["before_send"]()  # SENT is committed...
            intents.append(1)
            await asyncio.Event().wait()  # ...and the process dies before Jira hears of it

        runner = EmbeddedRunner(runtime, HANDLERS, lease_secs=1.0)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bulk_jobs, "create_exactly_once", die_after_intent)
            async with crash(runner):
                await runner.enqueue(job_id)
                await wait_for(lambda: bool(intents), "the intent to be committed")
        async with runtime.session() as s:
            assert (await JobChunkRepository(s).for_job(job_id))[0].status == "SENT"
        assert fake_site.issues_count() == 0

        await expire_lease(runtime, job_id)
        await run_until_idle(EmbeddedRunner(runtime, HANDLERS, lease_secs=1.0))

        assert (await load(runtime, job_id)).status == "SUCCESS"
        assert fake_site.issues_count() == 5
        assert fake_site.stats.routes[BULK_CREATE] == 1
        # the SENT chunk's markers (found none); the created issues need no read-back
        assert fake_site.stats.routes[SEARCH] == 1

    async def test_a_lost_answer_is_reconciled_within_the_attempt(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        fake_site.faults.configure(
            {"ambiguous": {"mode": "drop", "count": 2, "routes": [BULK_CREATE]}}
        )
        job_id = await enqueue(runtime, store_tenant, 100)

        await run_until_idle(EmbeddedRunner(runtime, HANDLERS))

        job = await load(runtime, job_id)
        assert job.status == "SUCCESS" and job.attempts == 1
        assert fake_site.issues_count() == 100
        assert fake_site.stats.routes[BULK_CREATE] == 2


class TestRetries:
    async def test_a_transient_failure_is_retried_later(
        self,
        runtime: Runtime,
        store_tenant: StoreTenant,
        fake_site: Site,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr("ticketbridge.jobs.runner.retry_delay", lambda attempt: 0.0)
        fake_site.faults.configure(
            {"error_rate": {"share": 1.0, "status": 503, "routes": [BULK_CREATE]}}
        )
        job_id = await enqueue(runtime, store_tenant, 3)
        runner = EmbeddedRunner(runtime, HANDLERS)

        await run_until_idle(runner)
        released = await load(runtime, job_id)
        fake_site.faults.configure({})
        await run_until_idle(runner)

        assert (released.status, released.lease_owner) == ("RUNNING", None)
        job = await load(runtime, job_id)
        assert (job.status, job.attempts) == ("SUCCESS", 2)
        assert fake_site.issues_count() == 3

    async def test_after_the_last_attempt_every_item_fails_with_the_reason(
        self,
        runtime: Runtime,
        store_tenant: StoreTenant,
        fake_site: Site,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr("ticketbridge.jobs.runner.retry_delay", lambda attempt: 0.0)
        monkeypatch.setattr("ticketbridge.jobs.runner.MAX_ATTEMPTS", 2)
        fake_site.faults.configure(
            {"error_rate": {"share": 1.0, "status": 503, "routes": [BULK_CREATE]}}
        )
        job_id = await enqueue(runtime, store_tenant, 2)
        runner = EmbeddedRunner(runtime, HANDLERS)

        await run_until_idle(runner)
        await run_until_idle(runner)

        job = await load(runtime, job_id)
        assert (job.status, job.attempts) == ("FAILED", 2)
        assert job.failure_reason is not None
        assert job.failure_reason["failed"] == 2
        assert all(
            r["error"].startswith("gave up after 2 attempts: Jira is unavailable")
            for r in job.failure_reason["results"]
        )
        assert fake_site.issues_count() == 0

    async def test_a_wrong_secret_key_is_retried_and_named_not_an_internal_error(
        self,
        runtime: Runtime,
        store_tenant: StoreTenant,
        fake_site: Site,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Credentials stored under another Fernet key: the job retries (an operator fixes the
        key) and, after the last attempt, every item says which setting to check."""
        monkeypatch.setattr("ticketbridge.jobs.runner.retry_delay", lambda attempt: 0.0)
        monkeypatch.setattr("ticketbridge.jobs.runner.MAX_ATTEMPTS", 2)
        job_id = await enqueue(runtime, store_tenant, 2)
        other_key = Fernet(Fernet.generate_key())
        async with runtime.session() as s:
            conn = await s.get(Connection, store_tenant.connection.id)
            assert conn is not None
            conn.credentials_encrypted = other_key.encrypt(b"{}").decode()
        runner = EmbeddedRunner(runtime, HANDLERS)

        await run_until_idle(runner)
        assert (await load(runtime, job_id)).status != "FAILED"  # retried, not given up
        await run_until_idle(runner)

        job = await load(runtime, job_id)
        assert (job.status, job.attempts) == ("FAILED", 2)
        assert job.failure_reason is not None
        errors = [r["error"] for r in job.failure_reason["results"]]
        assert len(errors) == 2
        assert all("TICKETBRIDGE_SECRET_KEY" in e for e in errors), errors
        assert not any("internal error" in e for e in errors)
        assert fake_site.issues_count() == 0


class TestShutdownAndLeases:
    async def test_shutdown_mid_job_hands_the_job_back_for_an_immediate_resume(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        # On SQLite, chunks cancelled mid-write must leave no write lock behind, or the
        # hand-back fails and the job waits for its lease to expire (store/sqlite_driver.py,
        # tests/store/test_sqlite_cancellation.py).
        # 20 chunks, 8 at a time (the vendor cap), 200 ms each: most of a second to interrupt.
        fake_site.faults.configure({"latency_ms": 200})
        job_id = await enqueue(runtime, store_tenant, 1000)
        runner = EmbeddedRunner(runtime, HANDLERS, lease_secs=3600)
        async with runner.serve():
            await runner.enqueue(job_id)
            await wait_for(lambda: fake_site.stats.routes[BULK_CREATE] > 0, "a chunk to be created")
        stopped = await load(runtime, job_id)
        fake_site.faults.configure({})

        async with runtime.session() as s:
            claimable = await JobRepository(s).claimable(utcnow(), limit=5)
        await run_until_idle(EmbeddedRunner(runtime, HANDLERS))

        assert stopped.status == "RUNNING" and stopped.lease_owner is None
        assert claimable == [job_id]
        assert (await load(runtime, job_id)).status == "SUCCESS"
        assert fake_site.issues_count() == 1000

    async def test_a_runner_that_loses_its_lease_stops_and_writes_nothing(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        fake_site.faults.configure({"latency_ms": 300})
        job_id = await enqueue(runtime, store_tenant, 3)
        runner = EmbeddedRunner(runtime, HANDLERS, lease_secs=0.6)
        await runner.fill()
        await asyncio.sleep(0.1)
        async with runtime.session() as s:  # another runner takes the job over
            await JobRepository(s).expire_lease(job_id, runner.owner, utcnow())
            assert await JobRepository(s).claim(job_id, "usurper", utcnow(), 3600)

        await runner.idle()

        job = await load(runtime, job_id)
        assert (job.status, job.lease_owner, job.progress_done) == ("RUNNING", "usurper", 0)
