"""Idempotency-Key on POST /v1/itsm/tickets, and the reusable idempotency service."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.fixtures.store import stored, tickets_of
from tests.fixtures.tenants import Tenant
from tests.fixtures.tickets import CREATE, calls, create, created
from ticketbridge.errors import Conflict, Unprocessable
from ticketbridge.fakejira import Site
from ticketbridge.idempotency import service as idempotency_service
from ticketbridge.idempotency.service import CLAIM_LEASE, hash_request, idempotent, reserve
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Connection, IdempotencyKey

KEY = {"Idempotency-Key": "7c1b2a4e-create-once"}


class AsyncioWith:
    """The ``asyncio`` module with some functions replaced (for one module under test)."""

    def __init__(self, **replaced: Any) -> None:
        self.replaced = replaced

    def __getattr__(self, name: str) -> Any:
        return self.replaced[name] if name in self.replaced else getattr(asyncio, name)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class TestReplay:
    async def test_same_key_and_body_replays_without_calling_jira(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        first = await create(client, tenant, KEY, name="Once")
        assert first.status_code == 200
        jira_calls = ops_site.stats.total
        second = await create(client, tenant, KEY, name="Once")
        assert second.status_code == 200
        assert second.json() == first.json()
        assert second.headers["Idempotent-Replayed"] == "true"
        assert ops_site.stats.total == jira_calls
        assert ops_site.issues_count() == 1
        assert len(await tickets_of(runtime, tenant)) == 1

    async def test_same_key_with_another_body_is_422_naming_the_header(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        assert (await create(client, tenant, KEY, name="Once")).status_code == 200
        jira_calls = ops_site.stats.total
        response = await create(client, tenant, KEY, name="Twice")
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["header", "Idempotency-Key"]
        assert "different request body" in error["msg"]
        assert ops_site.stats.total == jira_calls
        assert ops_site.issues_count() == 1

    async def test_concurrent_requests_with_one_key_create_one_issue(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        responses = await asyncio.gather(
            *(create(client, tenant, KEY, name="Race") for _ in range(3))
        )
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert len({r.json()["id"] for r in responses}) == 1
        assert calls(ops_site, CREATE) == 1
        assert ops_site.issues_count() == 1
        assert len(await tickets_of(runtime, tenant)) == 1

    async def test_a_failed_request_releases_its_key(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        failed = await create(client, tenant, KEY, type="Incident")
        assert failed.status_code == 422
        fixed = await create(client, tenant, KEY, type="Task")
        assert fixed.status_code == 200
        assert "Idempotent-Replayed" not in fixed.headers
        assert ops_site.issues_count() == 1

    async def test_keys_are_scoped_to_the_connection(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, ops_site: Site
    ) -> None:
        ours = await create(client, tenant, KEY, name="Same key")
        theirs = await create(client, other_tenant, KEY, name="Same key")
        assert ours.status_code == theirs.status_code == 200
        assert ours.json()["id"] != theirs.json()["id"]
        assert ops_site.issues_count() == 2

    async def test_an_expired_key_is_fresh_again(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        first = await create(client, tenant, KEY, name="Daily")
        async with runtime.session() as s:
            await s.execute(
                update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
            )
        second = await create(client, tenant, KEY, name="Daily")
        assert second.status_code == 200
        assert second.json()["id"] != first.json()["id"]
        assert ops_site.issues_count() == 2
        rows = await stored(runtime, IdempotencyKey)
        assert [r.key for r in rows] == [KEY["Idempotency-Key"]]

    async def test_requests_without_a_key_are_not_recorded(
        self, client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
    ) -> None:
        await created(client, tenant)
        await created(client, tenant)
        assert await stored(runtime, IdempotencyKey) == []


class TestIdempotencyService:
    """The API other POST routes (bulk) reuse: claim, wait, replay, release."""

    async def test_a_key_in_progress_beyond_the_wait_is_409(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        scope = await _scope(runtime, tenant)
        async with runtime.sessionmaker() as first, runtime.sessionmaker() as second:
            async with idempotent(runtime, first, **scope) as slot:
                assert slot.replay is None
                with pytest.raises(Conflict, match="in progress"):
                    async with idempotent(runtime, second, **scope, wait_secs=0.05):
                        pass
                await slot.complete(201, {"job_id": "j1"})
            await first.commit()
            async with idempotent(runtime, second, **scope) as again:
                assert again.replay is not None
                assert (again.replay.status_code, again.replay.body) == (201, {"job_id": "j1"})

    async def test_a_waiting_request_replays_once_the_first_completes(
        self, runtime: Runtime, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        scope = await _scope(runtime, tenant)
        claimed, finish = asyncio.Event(), asyncio.Event()
        polls: list[float] = []

        async def poll_sleep(delay: float) -> None:
            # The second request found the key in progress and polls: only now may the first
            # finish, so the replay below can only come from a request that waited.
            polls.append(delay)
            finish.set()
            await asyncio.sleep(0)

        monkeypatch.setattr(idempotency_service, "asyncio", AsyncioWith(sleep=poll_sleep))

        async def first() -> None:
            async with runtime.sessionmaker() as s:
                async with idempotent(runtime, s, **scope) as slot:
                    claimed.set()
                    await finish.wait()
                    await slot.complete(200, {"n": 1})
                await s.commit()

        async def second() -> int | None:
            await claimed.wait()
            async with runtime.sessionmaker() as s:
                async with idempotent(runtime, s, **scope) as slot:
                    return slot.replay.body["n"] if slot.replay else None

        _, replayed = await asyncio.gather(first(), second())
        assert replayed == 1
        assert len(polls) >= 1
        [row] = await stored(runtime, IdempotencyKey)
        assert (row.status, row.response_status) == ("DONE", 200)

    async def test_an_error_releases_the_key_and_rolls_back(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        scope = await _scope(runtime, tenant)
        async with runtime.sessionmaker() as s:
            with pytest.raises(Unprocessable):
                async with idempotent(runtime, s, **scope):
                    raise Unprocessable("bad", field="x")
        assert await stored(runtime, IdempotencyKey) == []

    async def test_an_unexpected_crash_keeps_the_claim_until_its_lease_ends(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        scope = await _scope(runtime, tenant)
        before = utcnow()
        async with runtime.sessionmaker() as s:
            with pytest.raises(ZeroDivisionError):
                async with idempotent(runtime, s, **scope):
                    _ = 1 / 0
        after = utcnow()
        [row] = await stored(runtime, IdempotencyKey)
        assert row.status == "IN_PROGRESS"
        # The claim lives exactly one lease from when it was taken: not shorter, not longer.
        assert before + CLAIM_LEASE <= as_utc(row.expires_at) <= after + CLAIM_LEASE

    async def test_no_key_is_a_no_op_slot(self, runtime: Runtime, tenant: Tenant) -> None:
        scope = {**await _scope(runtime, tenant), "key": None}
        async with runtime.sessionmaker() as s:
            async with idempotent(runtime, s, **scope) as slot:
                assert slot.replay is None
                await slot.complete(200, {})
            await s.commit()
        assert await stored(runtime, IdempotencyKey) == []

    async def test_a_reservation_is_removed_with_the_callers_commit(
        self, runtime: Runtime, tenant: Tenant
    ) -> None:
        scope = await _scope(runtime, tenant)
        args = {k: scope[k] for k in ("account_id", "connection_id")}
        async with runtime.sessionmaker() as s:
            async with reserve(runtime, s, **args, route="r", value="ID-1", in_progress="busy"):
                assert len(await stored(runtime, IdempotencyKey)) == 1
                with pytest.raises(Conflict, match="busy"):
                    async with runtime.sessionmaker() as other:
                        async with reserve(
                            runtime,
                            other,
                            **args,
                            route="r",
                            value="ID-1",
                            in_progress="busy",
                            wait_secs=0.05,
                        ):
                            pass
            await s.commit()
        assert await stored(runtime, IdempotencyKey) == []


async def _scope(runtime: Runtime, tenant: Tenant) -> dict[str, Any]:
    assert tenant.connection_id is not None
    connection_id = uuid.UUID(tenant.connection_id)
    [conn] = await stored(runtime, Connection, id=connection_id)
    return {
        "account_id": conn.account_id,
        "connection_id": connection_id,
        "route": "POST /test",
        "key": "k-1",
        "request_hash": hash_request({"a": 1}),
    }
