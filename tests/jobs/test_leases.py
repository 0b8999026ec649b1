"""Job rows: the atomic claim, leases, heartbeats and lease fencing (both backends)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from datetime import timedelta

from tests.jobs.conftest import StoreTenant, tickets
from ticketbridge.bulk.schemas import JOB_BULK_CREATE
from ticketbridge.handlers import job_handlers
from ticketbridge.jobs import runner as runner_module
from ticketbridge.jobs.embedded import EmbeddedRunner
from ticketbridge.jobs.repository import JobChunkRepository, JobRepository
from ticketbridge.jobs.runner import owner_is_dead, process_owner
from ticketbridge.jobs.service import create_job
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Job

HANDLERS = job_handlers()


async def new_job(runtime: Runtime, store_tenant: StoreTenant) -> uuid.UUID:
    async with runtime.session() as s:
        job = await create_job(
            s,
            account_id=store_tenant.account_id,
            connection_id=store_tenant.connection.id,
            job_type=JOB_BULK_CREATE,
            payload={"tickets": tickets(1), "identifiers": ["ID-1"]},
            total=1,
        )
    return job.id


async def claim(runtime: Runtime, job_id: uuid.UUID, owner: str, lease: float = 30.0) -> bool:
    async with runtime.session() as s:
        return await JobRepository(s).claim(job_id, owner, utcnow(), lease)


async def row(runtime: Runtime, job_id: uuid.UUID) -> Job:
    async with runtime.session() as s:
        job = await JobRepository(s).get(job_id)
    assert job is not None
    return job


class TestClaim:
    async def test_one_of_many_concurrent_claims_wins(
        self, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        job_id = await new_job(runtime, store_tenant)

        won = await asyncio.gather(*(claim(runtime, job_id, f"runner-{i}") for i in range(6)))

        assert sorted(won) == [False] * 5 + [True]
        job = await row(runtime, job_id)
        assert job.status == "RUNNING"
        assert job.lease_owner == f"runner-{won.index(True)}"
        assert job.attempts == 1 and job.started_at is not None

    async def test_a_live_lease_blocks_and_an_expired_one_is_taken_over(
        self, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        job_id = await new_job(runtime, store_tenant)
        assert await claim(runtime, job_id, "a", lease=30)
        started = (await row(runtime, job_id)).started_at

        blocked = await claim(runtime, job_id, "b")
        async with runtime.session() as s:
            await JobRepository(s).expire_lease(job_id, "a", utcnow())
        taken = await claim(runtime, job_id, "b")

        assert (blocked, taken) == (False, True)
        job = await row(runtime, job_id)
        assert (job.lease_owner, job.attempts, job.started_at) == ("b", 2, started)

    async def test_a_finished_job_is_never_claimed(
        self, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        job_id = await new_job(runtime, store_tenant)
        assert await claim(runtime, job_id, "a")
        async with runtime.session() as s:
            done = await JobRepository(s).finish(
                job_id, "a", utcnow(), status="SUCCESS", results=[], failure_reason=None, done=1
            )

        assert done
        assert not await claim(runtime, job_id, "b")
        async with runtime.session() as s:
            assert await JobRepository(s).claimable(utcnow() + timedelta(hours=1), limit=10) == []


class TestFencing:
    async def test_a_runner_that_lost_its_lease_can_write_nothing(
        self, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        job_id = await new_job(runtime, store_tenant)
        assert await claim(runtime, job_id, "a")
        async with runtime.session() as s:
            await JobChunkRepository(s).ensure(job_id, {0: "m"})
            await JobRepository(s).expire_lease(job_id, "a", utcnow())
        assert await claim(runtime, job_id, "b")
        now = utcnow()

        async with runtime.session() as s:
            chunks, jobs = JobChunkRepository(s), JobRepository(s)
            sent_by_a = await chunks.mark_sent(job_id, 0, "a", lease_valid_until=now)
            beat_by_a = await jobs.heartbeat(job_id, "a", now, 30)
            done_by_a = await jobs.finish(
                job_id, "a", now, status="SUCCESS", results=[], failure_reason=None, done=1
            )
            sent_by_b = await chunks.mark_sent(job_id, 0, "b", lease_valid_until=now)

        assert (sent_by_a, beat_by_a, done_by_a, sent_by_b) == (False, False, False, True)
        async with runtime.session() as s:
            chunk = (await JobChunkRepository(s).for_job(job_id))[0]
        assert (chunk.status, chunk.attempts) == ("SENT", 1)

    async def test_intent_needs_a_lease_with_time_left(
        self, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        job_id = await new_job(runtime, store_tenant)
        assert await claim(runtime, job_id, "a", lease=5)
        async with runtime.session() as s:
            await JobChunkRepository(s).ensure(job_id, {0: "m"})

        async with runtime.session() as s:
            # The call must start well inside the lease: 10 s of margin is more than is left.
            late = await JobChunkRepository(s).mark_sent(
                job_id, 0, "a", lease_valid_until=utcnow() + timedelta(seconds=10)
            )

        assert late is False

    async def test_the_heartbeat_extends_the_lease(
        self, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        job_id = await new_job(runtime, store_tenant)
        assert await claim(runtime, job_id, "a", lease=5)
        before = (await row(runtime, job_id)).lease_expires_at
        assert before is not None

        async with runtime.session() as s:
            beat = await JobRepository(s).heartbeat(job_id, "a", utcnow(), 60)

        after = (await row(runtime, job_id)).lease_expires_at
        assert beat and after is not None and after > before + timedelta(seconds=30)


class TestDeadOwners:
    def test_only_certainly_dead_processes_of_this_host_are_dead(self) -> None:
        host = socket.gethostname()
        me = process_owner("x")
        previous_me = f"{host}:{os.getpid()}:00000000:embedded"  # same pid, another nonce
        gone = f"{host}:{2**22 + 12345}:abcd:embedded"  # above pid_max: no such process
        alive = f"{host}:1:abcd:embedded"
        elsewhere = f"another-host-{uuid.uuid4().hex}:{2**22 + 1}:abcd:embedded"

        assert [owner_is_dead(o) for o in (me, previous_me, gone, alive, elsewhere)] == [
            False,
            True,
            True,
            False,
            False,
        ]

    async def test_start_up_resumes_a_dead_processes_jobs_at_once(
        self, runtime: Runtime, store_tenant: StoreTenant
    ) -> None:
        job_id = await new_job(runtime, store_tenant)
        dead = f"{socket.gethostname()}:{2**22 + 777}:dead:embedded"
        assert await claim(runtime, job_id, dead, lease=3600)
        runner = EmbeddedRunner(runtime, HANDLERS)

        resumed = await runner.resume_orphans()
        async with runtime.session() as s:
            claimable = await JobRepository(s).claimable(utcnow(), limit=10)

        assert resumed == 1
        assert claimable == [job_id]


class TestRetryDelay:
    def test_backoff_is_capped(self) -> None:
        assert [runner_module.retry_delay(a) for a in (1, 3, 10)] == [2.0, 8.0, 60.0]
