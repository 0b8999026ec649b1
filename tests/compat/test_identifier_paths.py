"""An identifier is the caller's own key, so it may hold any printable character, ``/``
included (``VULN/CVE-2024-1234``): a client that percent-encodes it finds its ticket by it."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.fixtures.tenants import Tenant

CREATE_URL = "/v1/itsm/tickets"
BY_IDENTIFIER = "/v1/itsm/tickets/by-identifier/"


@pytest.mark.parametrize(
    "identifier", ["VULN/CVE-2024-1234", "a//b/", "/leading", "with space?#%&=+", "x/../y"]
)
async def test_by_identifier_finds_identifiers_with_reserved_characters(
    client: httpx.AsyncClient, tenant: Tenant, identifier: str
) -> None:
    body = {"name": "t", "project_vendor_id": "DEMO", "type_vendor_id": 10001}
    created = await client.post(
        CREATE_URL, json={**body, "identifier": identifier}, headers=tenant.headers
    )
    assert created.status_code == 200, created.text
    assert created.json()["identifier"] == identifier

    r = await client.get(BY_IDENTIFIER + quote(identifier, safe=""), headers=tenant.headers)

    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["identifier"]) == (created.json()["id"], identifier)


async def test_an_unknown_identifier_with_a_slash_is_the_usual_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.get(BY_IDENTIFIER + quote("NO/SUCH", safe=""), headers=tenant.headers)
    assert (r.status_code, r.json()) == (404, {"detail": "ticket not found", "errors": []})
