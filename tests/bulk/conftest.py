"""The bulk tests run against ``ops_site`` (DEMO and OPS, three people); shared fixtures
(``tenant``, ``synced``, ``retry_sleep``...) come from :mod:`tests.fixtures`. Helpers to wait
for jobs and build bodies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.jobs import wait_job as wait_job  # the bulk tests' import path
from ticketbridge.fakejira import Site

SYNC_URL = "/v1/itsm/tickets/bulk/sync"
ASYNC_URL = "/v1/itsm/tickets/bulk"
UPDATE_URL = "/v1/itsm/tickets/bulk/update"
BULK_CREATE = "POST /rest/api/3/issue/bulk"
SEARCH = "POST /rest/api/3/search/jql"


@pytest.fixture(autouse=True)
def _bulk_site(no_settle_delay: None, ops_site: Site) -> None:
    """Every bulk test runs against ``ops_site`` with no settle delay before marker searches."""


def ticket(i: int, **over: Any) -> dict[str, Any]:
    """A vendor-id create body (no store needed)."""
    body: dict[str, Any] = {"name": f"bulk ticket {i}", "project_vendor_id": "DEMO", "type": "Task"}
    body.update(over)
    return body


def stats(site: Site) -> dict[str, int]:
    return dict(site.stats.routes)
