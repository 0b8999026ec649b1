"""A bulk create chunk's commits: its intent before its vendor turn, and the job's status in
the last chunk's commit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.jobs.conftest import StoreTenant, tickets
from ticketbridge.bulk.service import enqueue_create
from ticketbridge.fakejira import Site
from ticketbridge.handlers import job_handlers
from ticketbridge.jobs import runner as job_runner
from ticketbridge.jobs.embedded import EmbeddedRunner
from ticketbridge.jobs.repository import JobChunkRepository, JobRepository
from ticketbridge.jobs.runner import JobContext
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Job, JobChunk

HANDLERS = job_handlers()
BULK_CREATE = "POST /rest/api/3/issue/bulk"


async def enqueue(runtime: Runtime, store_tenant: StoreTenant, items: list[Any]) -> uuid.UUID:
    async with runtime.session() as s:
        job = await enqueue_create(s, runtime, store_tenant.connection, items)
    return job.id


async def run(runtime: Runtime) -> None:
    runner = EmbeddedRunner(runtime, HANDLERS)
    await runner.fill()
    await runner.idle()


async def load(runtime: Runtime, job_id: uuid.UUID) -> tuple[Job, dict[int, JobChunk]]:
    async with runtime.session() as s:
        job = await JobRepository(s).get(job_id)
        chunks = await JobChunkRepository(s).for_job(job_id)
    assert job is not None
    return job, chunks


class TestIntentBeforeTheTurn:
    async def test_no_turn_is_held_while_the_intent_commits(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        """The turn is for vendor calls: a commit waiting for the database's write lock
        must not keep another chunk's call from starting."""
        job_id = await enqueue(runtime, store_tenant, tickets(120))
        turns = runtime.connectors.turns(str(store_tenant.connection.id))
        held_at_intent: list[int] = []
        mark = JobContext.mark_chunk_sent

        async def recording(ctx: JobContext, index: int) -> float:
            held_at_intent.append(turns.held.get(ctx.job.id, 0))
            return await mark(ctx, index)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(JobContext, "mark_chunk_sent", recording)
            await run(runtime)

        job, chunks = await load(runtime, job_id)
        assert job.status == "SUCCESS" and fake_site.issues_count() == 120
        assert held_at_intent == [0, 0, 0]
        # One intent per chunk: the one committed before the turn was used for the call.
        assert [c.attempts for c in chunks.values()] == [1, 1, 1]
        assert fake_site.stats.routes[BULK_CREATE] == 3

    async def test_a_turn_that_comes_late_commits_the_intent_again(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        job_id = await enqueue(runtime, store_tenant, tickets(60))

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(JobContext, "intent_fresh", lambda ctx, committed_at: False)
            await run(runtime)

        job, chunks = await load(runtime, job_id)
        assert job.status == "SUCCESS" and fake_site.issues_count() == 60
        assert [c.attempts for c in chunks.values()] == [2, 2]

    async def test_a_chunk_with_nothing_to_send_commits_no_intent(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        bad = [{"name": "no project", "type_vendor_id": "10001"}] * 3
        job_id = await enqueue(runtime, store_tenant, bad)

        await run(runtime)

        job, chunks = await load(runtime, job_id)
        assert job.status == "FAILED" and fake_site.issues_count() == 0
        assert chunks[0].status == "DONE" and chunks[0].attempts == 0
        assert fake_site.stats.routes.get(BULK_CREATE, 0) == 0


class TestFinishWithTheLastChunk:
    async def test_the_last_chunk_commits_the_status_with_its_results(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        job_id = await enqueue(runtime, store_tenant, tickets(30))
        separate: list[str] = []
        finish = job_runner._finish

        async def recording(ctx: JobContext, results: list[dict[str, Any]]) -> str:
            separate.append(str(ctx.job.id))
            return await finish(ctx, results)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(job_runner, "_finish", recording)
            await run(runtime)

        job, chunks = await load(runtime, job_id)
        assert separate == []
        assert job.status == "SUCCESS" and job.lease_owner is None
        assert job.progress_done == 30 and job.finished_at is not None
        assert [r["request_index"] for r in job.results] == list(range(30))
        assert job.results == chunks[0].results and chunks[0].status == "DONE"

    async def test_a_failed_item_fails_the_job_with_its_reason(
        self, runtime: Runtime, store_tenant: StoreTenant, fake_site: Site
    ) -> None:
        items = [*tickets(2), {"name": "no project", "type_vendor_id": "10001"}]
        job_id = await enqueue(runtime, store_tenant, items)

        await run(runtime)

        job, _ = await load(runtime, job_id)
        assert job.status == "FAILED"
        assert job.failure_reason is not None
        assert (job.failure_reason["succeeded"], job.failure_reason["failed"]) == (2, 1)
        assert [r["success"] for r in job.results] == [True, True, False]
