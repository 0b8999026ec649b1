"""``TICKETBRIDGE_AUTH_CACHE_TTL_SECS=0`` turns the key and connection cache off: a change made
by another process applies from the next request on."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.security.test_auth_cache import TICKETS, elsewhere
from ticketbridge.config import Settings
from ticketbridge.runtime import Runtime


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"auth_cache_ttl_secs": 0.0})


async def test_a_key_revoked_by_another_process_is_refused_at_once(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200
    elsewhere(runtime, "UPDATE api_keys SET revoked_at = created_at")
    assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 401


async def test_a_connection_disabled_by_another_process_is_refused_at_once(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 200
    elsewhere(runtime, "UPDATE connections SET is_active = false")
    assert (await client.get(TICKETS, headers=tenant.headers)).status_code == 409
