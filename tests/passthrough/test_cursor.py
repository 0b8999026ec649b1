"""Search cursors: bound to their connection and query, signed, and refused otherwise."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.passthrough.conftest import SEARCH_JQL, SEARCH_URL, calls
from ticketbridge.errors import Unprocessable
from ticketbridge.fakejira import SeedSpec, Site
from ticketbridge.passthrough.cursor import CursorSigner, derive_key, query_digest

JQL = "project = ACME ORDER BY id ASC"


@pytest.fixture
def seeded(fake_site: Site) -> Site:
    fake_site.reset(SeedSpec(projects=1, issues_per_project=30, users=3))
    return fake_site


async def first_page(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    r = await client.get(
        SEARCH_URL, params={"jql": JQL, "limit": 10, **params}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["next_cursor"]
    return body


def assert_cursor_refused(r: httpx.Response, words: str) -> None:
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["query", "cursor"]
    assert words in error["msg"]


class TestRefused:
    async def test_tampered_payload(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: Site
    ) -> None:
        cursor = (await first_page(client, tenant))["next_cursor"]
        payload, mac = cursor.split(".")
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        data["t"] = "someone-elses-token"
        forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        r = await client.get(
            SEARCH_URL,
            params={"jql": JQL, "limit": 10, "cursor": f"{forged}.{mac}"},
            headers=tenant.headers,
        )
        assert_cursor_refused(r, "invalid cursor")
        assert calls(seeded, SEARCH_JQL) == 1

    @pytest.mark.parametrize("cursor", ["garbage", "a.b", ".", "é.ü", "x" * 4096])
    async def test_garbage(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: Site, cursor: str
    ) -> None:
        r = await client.get(
            SEARCH_URL, params={"jql": JQL, "limit": 10, "cursor": cursor}, headers=tenant.headers
        )
        assert_cursor_refused(r, "invalid cursor")
        assert seeded.stats.total == 0

    async def test_too_long(self, client: httpx.AsyncClient, tenant: Tenant, seeded: Site) -> None:
        r = await client.get(
            SEARCH_URL, params={"jql": JQL, "cursor": "x" * 4097}, headers=tenant.headers
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "cursor"]

    async def test_from_another_connection(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        seeded: Site,
    ) -> None:
        cursor = (await first_page(client, tenant))["next_cursor"]
        r = await client.get(
            SEARCH_URL,
            params={"jql": JQL, "limit": 10, "cursor": cursor},
            headers=other_tenant.headers,
        )
        assert_cursor_refused(r, "another connection")
        assert calls(seeded, SEARCH_JQL) == 1

    @pytest.mark.parametrize(
        "change",
        [
            {"jql": "project = ACME ORDER BY id DESC"},
            {"limit": 11},
            {"fields": "summary"},
        ],
    )
    async def test_with_another_query(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        seeded: Site,
        change: dict[str, Any],
    ) -> None:
        cursor = (await first_page(client, tenant))["next_cursor"]
        params = {"jql": JQL, "limit": 10, "cursor": cursor, **change}
        r = await client.get(SEARCH_URL, params=params, headers=tenant.headers)
        assert_cursor_refused(r, "another query")
        assert calls(seeded, SEARCH_JQL) == 1

    async def test_expired_at_jira(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: Site
    ) -> None:
        cursor = (await first_page(client, tenant))["next_cursor"]
        seeded.search.tokens.clear()  # what Jira's token expiry leaves behind
        r = await client.get(
            SEARCH_URL, params={"jql": JQL, "limit": 10, "cursor": cursor}, headers=tenant.headers
        )
        assert_cursor_refused(r, "expired")
        assert "nextPageToken is invalid or has expired" in r.json()["errors"][0]["msg"]


class TestAccepted:
    async def test_same_query_with_fields_continues(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: Site
    ) -> None:
        page = await first_page(client, tenant, fields="summary")
        r = await client.get(
            SEARCH_URL,
            params={"jql": JQL, "limit": 10, "fields": "summary", "cursor": page["next_cursor"]},
            headers=tenant.headers,
        )
        assert r.status_code == 200, r.text
        first = [i["key"] for i in page["items"]]
        second = [i["key"] for i in r.json()["items"]]
        assert len(second) == 10 and not set(first) & set(second)
        assert all(set(i["fields"]) == {"summary"} for i in r.json()["items"])

    async def test_cursor_is_reusable(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: Site
    ) -> None:
        cursor = (await first_page(client, tenant))["next_cursor"]
        params = {"jql": JQL, "limit": 10, "cursor": cursor}
        a = await client.get(SEARCH_URL, params=params, headers=tenant.headers)
        b = await client.get(SEARCH_URL, params=params, headers=tenant.headers)
        assert a.status_code == b.status_code == 200
        assert a.json()["items"] == b.json()["items"]


class TestSigner:
    def signer(self, secret: str = "one secret") -> CursorSigner:
        return CursorSigner(derive_key(secret))

    def test_round_trip(self) -> None:
        digest = query_digest("project = A", ["summary"], 10)
        cursor = self.signer().seal(connection_id="c1", digest=digest, token="tok/+=")
        assert self.signer().open(cursor, connection_id="c1", digest=digest) == "tok/+="

    def test_another_secret_key_refuses(self) -> None:
        digest = query_digest("project = A", None, 10)
        cursor = self.signer("one secret").seal(connection_id="c1", digest=digest, token="t")
        with pytest.raises(Unprocessable) as caught:
            self.signer("another secret").open(cursor, connection_id="c1", digest=digest)
        assert caught.value.field == "cursor"

    def test_digest_separates_fields_from_jql(self) -> None:
        # Concatenation would make these equal; the digest is of a structured value.
        assert query_digest("a", ["b"], 1) != query_digest("a,b", None, 1)
        assert query_digest("a", None, 1) != query_digest("a", [], 1)

    def test_key_is_stable_per_secret_and_differs_between_secrets(self) -> None:
        # Replicas sharing the secret key accept each other's cursors.
        assert derive_key("s") == derive_key("s")
        assert derive_key("s") != derive_key("t")
        assert len(derive_key("s")) == 32
