"""All SQL of the job engine: job rows (claim, lease, heartbeat, finish) and their chunks.

Every state change a runner makes is *fenced* by its lease: the statement only matches while
``lease_owner`` is the caller and the lease has not expired, and the caller checks the row
count. A runner that lost its lease (stalled past expiry, another runner took over) therefore
cannot mark a chunk SENT, record results or finish the job.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import defer
from sqlalchemy.sql.dml import Update

from ticketbridge.store.base import UTCDateTime
from ticketbridge.store.models import Job, JobChunk
from ticketbridge.store.repository import RepositoryBase

QUEUED, RUNNING = "QUEUED", "RUNNING"
# What the API shows of a job (JobRead) never includes its payload (up to 1,000 tickets):
# not loaded, not decoded, for clients that poll their jobs.
_WITHOUT_PAYLOAD = defer(Job.payload, raiseload=True)


def _claimable(now: datetime) -> Any:
    # QUEUED, or RUNNING under a lease nobody renewed (its runner died or stalled).
    return or_(Job.status == QUEUED, and_(Job.status == RUNNING, Job.lease_expires_at < now))


class JobRepository(RepositoryBase[Job]):
    model = Job

    async def _rowcount(self, stmt: Update) -> int:
        result = await self.session.execute(stmt.execution_options(synchronize_session=False))
        return int(cast(CursorResult[Any], result).rowcount)

    async def get(self, job_id: uuid.UUID) -> Job | None:
        return await self.session.get(Job, job_id, populate_existing=True)

    async def get_visible(
        self, account_id: uuid.UUID, job_id: uuid.UUID, connection_id: uuid.UUID | None
    ) -> Job | None:
        stmt = (
            select(Job)
            .options(_WITHOUT_PAYLOAD)
            .where(Job.id == job_id, Job.account_id == account_id)
        )
        if connection_id is not None:
            stmt = stmt.where(Job.connection_id == connection_id)
        return await self.session.scalar(stmt)

    async def list_visible(
        self,
        account_id: uuid.UUID,
        connection_id: uuid.UUID | None,
        *,
        status: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Job], int]:
        stmt = select(Job).options(_WITHOUT_PAYLOAD).where(Job.account_id == account_id)
        if connection_id is not None:
            stmt = stmt.where(Job.connection_id == connection_id)
        if status is not None:
            stmt = stmt.where(Job.status == status)
        # Newest first: a client polling its recent jobs wants them on the first page.
        stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc())
        return await self.page(stmt, limit=limit, offset=offset)

    async def recent(
        self, connection_id: uuid.UUID | None, *, status: str | None, limit: int
    ) -> list[Job]:
        """Newest first, any account (the operator's CLI)."""
        stmt = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
        if connection_id is not None:
            stmt = stmt.where(Job.connection_id == connection_id)
        if status is not None:
            stmt = stmt.where(Job.status == status)
        return list((await self.session.scalars(stmt)).all())

    async def unfinished(self, connection_id: uuid.UUID, job_type: str) -> list[Job]:
        stmt = (
            select(Job)
            .where(
                Job.connection_id == connection_id,
                Job.type == job_type,
                Job.status.in_(("QUEUED", "RUNNING")),
            )
            .order_by(Job.created_at)
        )
        return list((await self.session.scalars(stmt)).all())

    async def claimable(self, now: datetime, *, limit: int) -> list[uuid.UUID]:
        stmt = select(Job.id).where(_claimable(now)).order_by(Job.created_at).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def stale(self, now: datetime, *, queued_before: datetime, limit: int) -> list[uuid.UUID]:
        """Jobs no runner is working on: QUEUED for a while, or RUNNING with an expired lease
        (the distributed recovery sweep re-enqueues these)."""
        stmt = (
            select(Job.id)
            .where(
                or_(
                    and_(Job.status == QUEUED, Job.created_at < queued_before),
                    and_(Job.status == RUNNING, Job.lease_expires_at < now),
                )
            )
            .order_by(Job.created_at)
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def leases(self) -> list[tuple[uuid.UUID, str]]:
        """(job id, lease owner) of every RUNNING job (start-up looks for dead owners)."""
        stmt = select(Job.id, Job.lease_owner).where(
            Job.status == RUNNING, Job.lease_owner.is_not(None)
        )
        return [(row[0], str(row[1])) for row in (await self.session.execute(stmt)).all()]

    def _claim(self, job_id: uuid.UUID, owner: str, now: datetime, lease: float) -> Update:
        return (
            update(Job)
            .where(Job.id == job_id, _claimable(now))
            .values(
                status=RUNNING,
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease),
                heartbeat_at=now,
                started_at=func.coalesce(Job.started_at, literal(now, UTCDateTime())),
                attempts=Job.attempts + 1,
            )
        )

    async def claim(self, job_id: uuid.UUID, owner: str, now: datetime, lease: float) -> bool:
        """Atomically take the job: only one of several concurrent claimers gets rowcount 1."""
        return await self._rowcount(self._claim(job_id, owner, now, lease)) == 1

    async def claim_job(
        self, job_id: uuid.UUID, owner: str, now: datetime, lease: float
    ) -> Job | None:
        """:meth:`claim`, answering the claimed row as it is now (one statement), or None."""
        stmt = (
            self._claim(job_id, owner, now, lease)
            .returning(Job)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return (await self.session.scalars(stmt)).one_or_none()

    def _owned(self, job_id: uuid.UUID, owner: str) -> Any:
        # Ownership is the fence: a claim always rewrites lease_owner, so while it is still
        # ours nobody else took the job, even if our lease ran out a moment ago.
        return and_(Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner)

    async def heartbeat(self, job_id: uuid.UUID, owner: str, now: datetime, lease: float) -> bool:
        stmt = (
            update(Job)
            .where(self._owned(job_id, owner))
            .values(lease_expires_at=now + timedelta(seconds=lease), heartbeat_at=now)
        )
        return await self._rowcount(stmt) == 1

    async def release(
        self, job_id: uuid.UUID, owner: str, now: datetime, retry_at: datetime
    ) -> None:
        """Give the job back, claimable again from ``retry_at`` (a later attempt resumes it)."""
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner)
            .values(lease_expires_at=retry_at, lease_owner=None)
        )
        await self._rowcount(stmt)

    async def expire_lease(self, job_id: uuid.UUID, owner: str, now: datetime) -> bool:
        """Expire the lease of a runner known to be dead, so the job is claimable now."""
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner)
            .values(lease_expires_at=now - timedelta(seconds=1))
        )
        return await self._rowcount(stmt) == 1

    async def save_progress(
        self, job_id: uuid.UUID, owner: str, now: datetime, *, done: int, results: list[Any]
    ) -> bool:
        stmt = (
            update(Job)
            .where(self._owned(job_id, owner))
            .values(progress_done=done, results=results)
        )
        return await self._rowcount(stmt) == 1

    async def finish(
        self,
        job_id: uuid.UUID,
        owner: str,
        now: datetime,
        *,
        status: str,
        results: list[Any],
        failure_reason: dict[str, Any] | None,
        done: int,
    ) -> bool:
        stmt = (
            update(Job)
            .where(Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner)
            .values(
                status=status,
                results=results,
                failure_reason=failure_reason,
                progress_done=done,
                finished_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        return await self._rowcount(stmt) == 1


class JobChunkRepository(RepositoryBase[JobChunk]):
    model = JobChunk

    async def _rowcount(self, stmt: Update) -> int:
        result = await self.session.execute(stmt.execution_options(synchronize_session=False))
        return int(cast(CursorResult[Any], result).rowcount)

    async def for_job(self, job_id: uuid.UUID) -> dict[int, JobChunk]:
        rows = await self.session.scalars(
            select(JobChunk)
            .where(JobChunk.job_id == job_id)
            .execution_options(populate_existing=True)
        )
        return {c.index: c for c in rows.all()}

    async def ensure(self, job_id: uuid.UUID, markers: dict[int, str]) -> None:
        """Insert the missing PENDING chunk rows (idempotent: a resume keeps existing rows)."""
        values = [
            {
                "job_id": job_id,
                "index": i,
                "status": "PENDING",
                "attempts": 0,
                "marker": m,
                "results": [],
            }
            for i, m in markers.items()
        ]
        if not values:
            return
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(JobChunk)
            .values(values)
            .on_conflict_do_nothing(index_elements=["job_id", "index"])
        )
        await self.session.execute(stmt)

    def _lease_ok(self, job_id: uuid.UUID, owner: str, until: datetime | None) -> Any:
        clauses = [Job.id == job_id, Job.status == RUNNING, Job.lease_owner == owner]
        if until is not None:
            clauses.append(Job.lease_expires_at > until)
        return exists().where(*clauses)

    async def mark_sent(
        self, job_id: uuid.UUID, index: int, owner: str, *, lease_valid_until: datetime
    ) -> bool:
        """Record the intent to call the vendor for this chunk (fenced: the lease must still
        be ours and last until ``lease_valid_until``, so the call happens under it)."""
        stmt = (
            update(JobChunk)
            .where(
                JobChunk.job_id == job_id,
                JobChunk.index == index,
                JobChunk.status != "DONE",
                self._lease_ok(job_id, owner, lease_valid_until),
            )
            .values(status="SENT", attempts=JobChunk.attempts + 1)
        )
        return await self._rowcount(stmt) == 1

    async def mark_done(
        self, job_id: uuid.UUID, index: int, owner: str, results: list[Any]
    ) -> bool:
        stmt = (
            update(JobChunk)
            .where(
                JobChunk.job_id == job_id,
                JobChunk.index == index,
                self._lease_ok(job_id, owner, None),
            )
            .values(status="DONE", results=results)
        )
        return await self._rowcount(stmt) == 1
