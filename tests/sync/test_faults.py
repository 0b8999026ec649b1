"""A sync under injected 429s and 5xx completes with nothing missing, waiting exactly the
Retry-After Jira asked for; a vendor that keeps failing leaves a resumable FAILED state."""

from __future__ import annotations

import pytest

from tests.fixtures.emulator import seed
from tests.fixtures.service import RecordingSleep
from tests.fixtures.store import sync_state, tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.errors import VendorRateLimited
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import SyncConfig, run_sync

RETRY_AFTER = 3


class TestFaults:
    async def test_sync_completes_under_20_percent_429_and_503(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, patient_retries: RecordingSleep
    ) -> None:
        seed(fake_site, projects=2, per_project=300)
        fake_site.faults.configure(
            {
                "seed": 11,
                "rate_limit": {"share": 0.2, "retry_after": RETRY_AFTER},
                "error_rate": {"share": 0.2, "status": 503},
            }
        )

        result = await run_sync(runtime, cid(tenant), config=SyncConfig(page_size=30))

        injected = fake_site.faults.injected
        assert injected["rate_limited"] >= 3 and injected["errors"] >= 3
        assert fake_site.stats.statuses["429"] == injected["rate_limited"]
        assert fake_site.stats.statuses["503"] == injected["errors"]
        tickets = await tickets_by_vendor_id(runtime, cid(tenant))
        assert set(tickets) == {str(i) for i in fake_site.issues}
        assert all(tickets[str(i.id)].name == i.summary for i in fake_site.issues.values())
        assert (result.tickets, result.projects) == (600, 2)
        # Every 429 was followed by a wait of exactly its Retry-After; every 503 by a
        # jittered backoff (never equal to it by chance, and capped).
        assert patient_retries.waits.count(RETRY_AFTER) == injected["rate_limited"]
        backoffs = [d for d in patient_retries.waits if d != RETRY_AFTER]
        assert len(backoffs) == injected["errors"]
        assert all(0 <= d <= 8 for d in backoffs)

    async def test_a_vendor_that_keeps_refusing_fails_the_run_resumably(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant, patient_retries: RecordingSleep
    ) -> None:
        seed(fake_site, projects=1, per_project=250)
        fake_site.faults.configure(
            {
                "rate_limit": {
                    "share": 1.0,
                    "retry_after": 1,
                    "routes": ["POST /rest/api/3/search/jql"],
                }
            }
        )

        with pytest.raises(VendorRateLimited):
            await run_sync(runtime, cid(tenant))

        state = await sync_state(runtime, cid(tenant))
        assert state.status == "FAILED" and state.phase == "tickets"
        assert state.last_error == "VendorRateLimited: Jira is rate limiting this connection"
        assert patient_retries.waits == [1.0] * 11  # 12 attempts, 11 waits
        fake_site.faults.configure({})
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant))

        assert (result.resumed, result.tickets) == (True, 250)
        assert fake_site.stats.routes["GET /rest/api/3/project/search"] == 0
