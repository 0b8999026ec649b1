"""The reference's example ``status_mapping`` (To Do→TODO, In Progress→IN_PROGRESS,
Done→CLOSED) once made OPEN, IN_REVIEW and RESOLVED unreachable (409) on Jira's default
workflow. The mapping comes first and the category is the fallback: each of the six statuses
reaches its category whatever the mapping says."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.tenants import make_tenant
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime

REFERENCE_MAPPING = {"To Do": "TODO", "In Progress": "IN_PROGRESS", "Done": "CLOSED"}
CATEGORY_OF = {"OPEN": "To Do", "IN_REVIEW": "In Progress", "RESOLVED": "Done"}


@pytest.mark.parametrize("status", sorted(CATEGORY_OF))
async def test_the_reference_mapping_reaches_every_status_category(
    client: httpx.AsyncClient, runtime: Runtime, fake_site: Site, status: str
) -> None:
    tenant = await make_tenant(
        client, runtime, "mapped", options={"status_mapping": REFERENCE_MAPPING}
    )
    body = {"name": "t", "project_vendor_id": "DEMO", "type_vendor_id": 10001}
    created = await client.post("/v1/itsm/tickets", json=body, headers=tenant.headers)
    assert created.status_code == 200, created.text
    ticket = created.json()
    if status == "OPEN":  # start away from To Do so that OPEN needs a transition
        moved = await client.patch(
            f"/v1/itsm/tickets/{ticket['id']}", json={"status": "CLOSED"}, headers=tenant.headers
        )
        assert moved.status_code == 200, moved.text

    r = await client.patch(
        f"/v1/itsm/tickets/{ticket['id']}", json={"status": status}, headers=tenant.headers
    )

    assert r.status_code == 200, r.text
    issue = fake_site.find_issue(ticket["url"].rsplit("/", 1)[1])
    assert issue is not None and issue.status.category.name == CATEGORY_OF[status]
