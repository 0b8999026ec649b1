"""SSRF: a tenant-typed ``base_url`` only ever reaches a public https vendor.

Every test here runs with ``allow_private_vendor_urls`` OFF and the real vendor transport. A
listener on loopback stands for the internal service an attacker wants to reach: it must
receive nothing, whatever form the URL takes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import update

from tests.security.vendor_servers import (
    CONNECTIONS,
    FakeDns,
    Reply,
    Seen,
    TinyServer,
    api,
    check_connection,
    connected,
    create_connection,
    credentials,
    organization,
)
from ticketbridge.config import Settings
from ticketbridge.store.models import Connection

PUBLIC = "93.184.215.14"  # a public address (nothing connects to it in these tests)

# (case, URL template, a fragment of the reason); ``{port}`` is the loopback listener's.
REFUSED = [
    ("ipv4-loopback", "https://127.0.0.1:{port}", "loopback"),
    ("ipv4-loopback-net", "https://127.1.2.3:{port}", "loopback"),
    ("private-10", "https://10.0.0.1:{port}", "private"),
    ("private-172", "https://172.16.5.4:{port}", "private"),
    ("private-192", "https://192.168.0.1:{port}", "private"),
    ("link-local", "https://169.254.1.1:{port}", "link-local"),
    ("cloud-metadata", "https://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ("unspecified", "https://0.0.0.0:{port}", "unspecified"),
    ("shared-cgnat", "https://100.64.0.1:{port}", "not a public address"),
    ("ipv6-loopback", "https://[::1]:{port}", "loopback"),
    ("ipv6-unique-local", "https://[fc00::1]:{port}", "unique-local"),
    ("ipv6-unique-local-fd", "https://[fd12:3456::1]:{port}", "unique-local"),
    ("ipv6-link-local", "https://[fe80::1]:{port}", "link-local"),
    ("ipv6-multicast", "https://[ff02::1]:{port}", "multicast"),
    ("ipv4-mapped", "https://[::ffff:127.0.0.1]:{port}", "loopback"),
    ("ipv4-mapped-hex", "https://[::ffff:7f00:1]:{port}", "loopback"),
    ("ipv4-compatible", "https://[::127.0.0.1]:{port}", "IPv4-compatible"),
    ("nat64-metadata", "https://[64:ff9b::a9fe:a9fe]:{port}", "link-local"),
    ("6to4-loopback", "https://[2002:7f00:1::1]:{port}", "loopback"),
    ("decimal-ipv4", "https://2130706433:{port}", "dotted-decimal"),
    ("octal-ipv4", "https://0177.0.0.1:{port}", "dotted-decimal"),
    ("hex-ipv4", "https://0x7f.0.0.1:{port}", "dotted-decimal"),
    ("short-ipv4", "https://127.1:{port}", "dotted-decimal"),
    ("localhost", "https://localhost:{port}", "localhost"),
    ("localhost-dot-upper", "https://LOCALHOST.:{port}", "localhost"),
    ("sub-localhost", "https://app.localhost:{port}", "localhost"),
    ("name-to-loopback", "https://internal.example:{port}", "resolves to a loopback"),
    ("any-address-private", "https://mixed.example:{port}", "resolves to a private"),
    ("unresolvable", "https://nowhere.invalid:{port}", "does not resolve"),
    ("userinfo", "https://user:pw@vendor.example:{port}", "userinfo"),
    ("userinfo-host", "https://vendor.example@127.0.0.1:{port}", "userinfo"),
    ("backslash", "https://vendor.example\\@127.0.0.1:{port}", "backslash"),
    ("fragment", "https://vendor.example:{port}/latest/meta-data/role#", "fragment"),
    ("query", "https://vendor.example:{port}/x?", "query"),
    ("dot-segments", "https://vendor.example:{port}/a/../..", "path"),
    ("encoded-dots", "https://vendor.example:{port}/%2e%2e", "path"),
    ("plain-http", "http://vendor.example:{port}", "https"),
    # The reported attack, verbatim but for the port.
    ("issue-repro", "http://127.0.0.1:{port}/latest/meta-data/iam/security-credentials/role#", ""),
]


@pytest.fixture
def strict(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_vendor_urls": False})


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(monkeypatch)
    fake.names.update(
        {
            "vendor.example": [PUBLIC],
            "internal.example": ["127.0.0.1"],
            "mixed.example": [PUBLIC, "10.1.2.3"],
            "nowhere.invalid": [],
        }
    )
    return fake


@pytest.fixture
async def listener() -> AsyncIterator[TinyServer]:
    async with TinyServer() as server:
        yield server


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "credentials", "base_url"]
    assert reason in error["msg"]


class TestRefusedOnCreateAndUpdate:
    @pytest.mark.parametrize(
        ("template", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
    )
    async def test_refused_with_a_422_and_nothing_is_sent(
        self, strict: Settings, dns: FakeDns, listener: TinyServer, template: str, reason: str
    ) -> None:
        url = template.format(port=listener.port)
        async with api(strict) as (client, runtime):
            tenant = await organization(client, runtime, "acme")

            assert_refused(await create_connection(client, tenant, url), reason)
            listed = await client.get(
                f"/v1/provisioning/organizations/{tenant.org_id}/connections",
                headers=tenant.headers,
            )
            assert listed.json()["total"] == 0

            good = f"https://vendor.example:{listener.port}"
            conn = await connected(client, tenant, good)
            changed = await client.patch(
                f"{CONNECTIONS}/{conn.connection_id}",
                json={"credentials": credentials(url)},
                headers=tenant.headers,
            )
            assert_refused(changed, reason)
            stored = await client.get(f"{CONNECTIONS}/{conn.connection_id}", headers=tenant.headers)
            assert stored.json()["credentials"]["base_url"] == good

        assert listener.connections == 0


class TestConnectTime:
    async def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused(
        self, strict: Settings, dns: FakeDns, listener: TinyServer
    ) -> None:
        dns.names["rebind.example"] = [PUBLIC]
        async with api(strict) as (client, runtime):
            tenant = await organization(client, runtime, "acme")
            conn = await connected(client, tenant, f"https://rebind.example:{listener.port}")
            dns.names["rebind.example"] = ["127.0.0.1"]

            result = await check_connection(client, conn)

        assert result["health"] == "UNHEALTHY"
        assert "resolves to a loopback address" in result["detail"]
        assert listener.connections == 0

    async def test_a_connection_stored_under_laxer_settings_is_refused_later(
        self, settings: Settings, strict: Settings, listener: TinyServer
    ) -> None:
        async with api(settings) as (client, runtime):  # allow_private is on here
            tenant = await organization(client, runtime, "acme")
            conn = await connected(client, tenant, listener.url)
        async with api(strict) as (client, _):
            result = await check_connection(client, conn)
            stored = await client.get(f"{CONNECTIONS}/{conn.connection_id}", headers=conn.headers)

        assert result["health"] == "UNHEALTHY"
        assert "must use https" in result["detail"]
        assert stored.json()["health_detail"] == result["detail"]
        assert listener.connections == 0

    async def test_a_url_stored_before_the_rules_is_never_called(
        self, settings: Settings, listener: TinyServer
    ) -> None:
        # The exploit, as a row written before this policy existed; even with
        # allow_private on, the structural rules hold at connect time.
        exploit = f"{listener.url}/latest/meta-data/iam/security-credentials/role#"
        async with api(settings) as (client, runtime):
            tenant = await organization(client, runtime, "acme")
            conn = await connected(client, tenant, listener.url)
            async with runtime.session() as session:
                await session.execute(
                    update(Connection)
                    .where(Connection.id == uuid.UUID(conn.connection_id))
                    .values(credentials_encrypted=runtime.box.encrypt_json(credentials(exploit)))
                )
            result = await check_connection(client, conn)

        assert result["health"] == "UNHEALTHY"
        assert result["detail"].startswith("the connection's stored credentials.base_url is no")
        assert "fragment" in result["detail"]
        assert listener.connections == 0


class TestRedirects:
    async def test_a_redirect_to_loopback_is_not_followed(
        self, settings: Settings, listener: TinyServer
    ) -> None:
        async def redirect(_: Seen) -> Reply:
            return Reply(302, [("Location", f"{listener.url}/rest/api/3/myself")])

        # allow_private is on so that the first hop (on loopback too) is reached at all.
        async with TinyServer(redirect) as vendor, api(settings) as (client, runtime):
            tenant = await organization(client, runtime, "acme")
            result = await check_connection(client, await connected(client, tenant, vendor.url))

        assert result == {
            "health": "UNHEALTHY",
            "detail": "unexpected answer from the vendor (HTTP 302)",
            "vendor_account_id": None,
            "vendor_account_name": None,
        }
        assert len(vendor.requests) == 1
        assert listener.connections == 0
