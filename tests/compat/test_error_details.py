"""A client shows ``detail`` as the message: it names each field once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant

NOT_FOUND = "project 'NOPE' not found in Jira (or not visible to this connection)"


@pytest.mark.parametrize("type_field", [{"type": "Bug"}, {"type_vendor_id": 10001}])
async def test_an_unknown_vendor_project_is_named_once(
    client: httpx.AsyncClient, tenant: Tenant, type_field: dict[str, Any]
) -> None:
    body = {"name": "t", "project_vendor_id": "NOPE", **type_field}

    r = await client.post("/v1/itsm/tickets", json=body, headers=tenant.headers)

    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail.startswith(f"body.project_vendor_id: {NOT_FOUND}")
    assert detail.count("project_vendor_id") == 1
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "project_vendor_id"]]


async def test_the_bulk_cap_is_named_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    item = {"name": "t", "project_vendor_id": "DEMO", "type_vendor_id": 10001}

    r = await client.post(
        "/v1/itsm/tickets/bulk/sync", json={"tickets": [item] * 51}, headers=tenant.headers
    )

    assert r.status_code == 422, r.text
    assert r.json()["detail"] == "body.tickets: at most 50 per request, got 51"
