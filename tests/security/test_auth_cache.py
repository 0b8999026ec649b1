"""The per-process cache of API keys and connections (provisioning/cache.py): a change made
through this process applies from the next request on; one made elsewhere within the TTL, or
at once with the cache off; a burst of requests on a cold cache reads the key once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import create_engine, event, text, update

from tests.fixtures.tenants import Tenant, cid
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import ApiKey, Connection
from ticketbridge.store.urls import sync_url

TICKETS = "/v1/itsm/tickets"
KEYS = "/v1/provisioning/api-keys"


def statements(runtime: Runtime, table: str) -> list[str]:
    seen: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            seen.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
    return seen


def elsewhere(runtime: Runtime, sql: str, **params: Any) -> None:
    """A write by another process: its own engine, no session of this process."""
    engine = create_engine(sync_url(runtime.settings.resolved_database_url))
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


class TestKeys:
    async def test_a_known_key_is_read_once_then_served_from_the_cache(
        self, client: httpx.AsyncClient, tenant: Tenant, app: Any, runtime: Runtime
    ) -> None:
        app.state.services.tenancy.keys.clear()
        reads = statements(runtime, "api_keys")
        for _ in range(5):
            assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200
        assert len(reads) == 1

    async def test_a_burst_on_a_cold_cache_reads_the_key_once(
        self, client: httpx.AsyncClient, tenant: Tenant, app: Any, runtime: Runtime
    ) -> None:
        app.state.services.tenancy.keys.clear()
        reads = statements(runtime, "api_keys")
        answers = await asyncio.gather(
            *(client.get(TICKETS, headers=tenant.headers) for _ in range(20))
        )
        assert [r.status_code for r in answers] == [200] * 20
        assert len(reads) == 1

    async def test_a_key_revoked_in_this_process_is_refused_at_once(
        self, client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
    ) -> None:
        assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200  # cached
        async with runtime.session() as s:  # e.g. the CLI's revoke, run in this process
            await s.execute(update(ApiKey).values(revoked_at=runtime.clock()))
        refused = await client.get(TICKETS, headers=tenant.headers)
        assert refused.status_code == 401
        assert refused.json()["detail"] == "invalid API key"

    async def test_a_key_revoked_by_another_process_counts_within_the_ttl(
        self, client: httpx.AsyncClient, tenant: Tenant, app: Any, runtime: Runtime
    ) -> None:
        assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200
        elsewhere(runtime, "UPDATE api_keys SET revoked_at = created_at")
        # Still cached here (the TTL is the documented bound) ...
        assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200
        # ... and refused once the entry is gone (what the TTL's end does).
        app.state.services.tenancy.keys.clear()
        assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 401


class TestConnections:
    async def test_a_connection_disabled_in_this_process_is_refused_at_once(
        self, client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
    ) -> None:
        assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200
        async with runtime.session() as s:
            await s.execute(
                update(Connection).where(Connection.id == cid(tenant)).values(is_active=False)
            )
        assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 409

    async def test_a_connection_deleted_through_the_api_is_unknown_at_once(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200
        gone = await client.delete(
            f"/v1/provisioning/connections/{tenant.connection_id}", headers=tenant.headers
        )
        assert gone.status_code in (200, 204)
        answer = await client.get(TICKETS, headers=tenant.headers)
        assert answer.status_code == 404
        assert answer.json() == {"detail": "connection not found", "errors": []}

    async def test_another_accounts_connection_is_never_served_from_the_cache(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200
        foreign = {**other_tenant.headers, "X-CONNECTION-ID": tenant.connection_id or ""}
        answer = await client.get(TICKETS, headers=foreign)
        assert answer.status_code == 404
        assert answer.json() == {"detail": "connection not found", "errors": []}
