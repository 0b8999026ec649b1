"""A search answer that is not Jira's issue shape is the vendor's fault: 502, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import SEARCH_URL
from ticketbridge.fakejira import FakeJiraState
from ticketbridge.fakejira import create_app as create_fake_jira


class KeylessSearch(httpx.AsyncBaseTransport):
    """The emulator, except that search answers lose every issue's ``key``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/search/jql"):
            return response
        body = json.loads(await response.aread())
        for issue in body.get("issues", []):
            issue.pop("key", None)
        return httpx.Response(200, json=body)


@pytest.fixture
def vendor_transport(fake_jira: FakeJiraState) -> httpx.AsyncBaseTransport:
    return KeylessSearch(httpx.ASGITransport(app=create_fake_jira(fake_jira)))


async def test_issue_without_key_is_a_502(
    client: httpx.AsyncClient, tenant: Tenant, fake_jira: FakeJiraState
) -> None:
    site = fake_jira.site("acme.atlassian.net")
    admin = next(iter(site.users.values()))
    site.create_issue(
        {"fields": {"project": {"key": "DEMO"}, "issuetype": {"id": "10001"}, "summary": "x"}},
        actor=admin,
    )
    r = await client.get(SEARCH_URL, params={"jql": "project = DEMO"}, headers=tenant.headers)
    assert r.status_code == 502, r.text
    assert "unexpected answer from the vendor" in r.text
