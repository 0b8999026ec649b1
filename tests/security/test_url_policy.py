"""The vendor URL policy on its own: what it accepts and how it normalizes, and that the
connect-time transport opens its socket to the address it checked (not to a second lookup)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
import pytest

from tests.security.vendor_servers import FakeDns
from ticketbridge.connectors.guarded_transport import GuardedTransport
from ticketbridge.connectors.url_policy import (
    UrlPolicy,
    UrlRefused,
    address_refusal,
    normalize_base_url,
)


class TestNormalize:
    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            ("https://acme.atlassian.net", "https://acme.atlassian.net"),
            ("  HTTPS://ACME.Atlassian.NET./  ", "https://acme.atlassian.net"),
            ("https://acme.atlassian.net//jira/", "https://acme.atlassian.net/jira"),
            ("https://acme.atlassian.net:8443", "https://acme.atlassian.net:8443"),
            ("https://bücher.example", "https://xn--bcher-kva.example"),
            ("https://[2606:4700:0::1111]", "https://[2606:4700::1111]"),
        ],
    )
    def test_accepted_forms_are_normalized(self, given: str, stored: str) -> None:
        assert normalize_base_url(given) == stored

    @pytest.mark.parametrize(
        "given",
        [
            "ftp://x.example",
            "https://",
            "https://x.example:0",
            "https://x.example:99999",
            "https://[fe80::1%25eth0]",
            "https://-x.example",
            "https://x.example/a b",
            "https://x.example/%2f",
            "https://1.2.3.4.5",
            "https://x.123",
        ],
    )
    def test_malformed_forms_are_refused(self, given: str) -> None:
        with pytest.raises(UrlRefused):
            normalize_base_url(given)


class TestAddresses:
    @pytest.mark.parametrize(
        "ip",
        ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"],
    )
    def test_public_addresses_pass(self, ip: str) -> None:
        assert address_refusal(ipaddress.ip_address(ip)) is None

    @pytest.mark.parametrize(
        "ip",
        [
            "127.0.0.1",
            "10.0.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "fe80::1",
            "::",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::ffff:10.0.0.1",
        ],
    )
    def test_internal_addresses_are_refused(self, ip: str) -> None:
        assert address_refusal(ipaddress.ip_address(ip)) is not None

    async def test_allow_private_lifts_only_https_and_addresses(self) -> None:
        lax = UrlPolicy(allow_private=True)
        assert await lax.check("http://127.0.0.1:8081/") == "http://127.0.0.1:8081"
        with pytest.raises(UrlRefused, match="fragment"):
            await lax.check("http://127.0.0.1:8081/x#")


class RecordingSockets:
    """Stands in for the network: records where a socket would go, then fails to connect."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []

    def __call__(self, addr_info: Any) -> socket.socket:
        self.connects.append((addr_info[4][0], addr_info[4][1]))
        raise ConnectionRefusedError("recorded")


class TestConnectTime:
    async def test_the_socket_goes_to_the_checked_address(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dns = FakeDns(monkeypatch)
        dns.names["vendor.example"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
        sockets = RecordingSockets()
        transport = GuardedTransport(limits=httpx.Limits(), socket_factory=sockets)
        with pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(httpx.Request("GET", "https://vendor.example/"))
        await transport.aclose()
        assert sorted(sockets.connects) == [
            ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", 443),
            ("93.184.215.14", 443),
        ]

    async def test_one_internal_address_refuses_the_host(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        FakeDns(monkeypatch).names["vendor.example"] = ["93.184.215.14", "127.0.0.1"]
        sockets = RecordingSockets()
        transport = GuardedTransport(limits=httpx.Limits(), socket_factory=sockets)
        with pytest.raises(UrlRefused, match="loopback"):
            await transport.handle_async_request(httpx.Request("GET", "https://vendor.example/"))
        await transport.aclose()
        assert sockets.connects == []

    @pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "169.254.169.254", "10.1.2.3"])
    async def test_an_internal_literal_address_is_refused_before_any_socket(
        self, host: str
    ) -> None:
        # aiohttp does not ask a resolver about literal IPs: the transport checks them.
        sockets = RecordingSockets()
        transport = GuardedTransport(limits=httpx.Limits(), socket_factory=sockets)
        with pytest.raises(UrlRefused):
            await transport.handle_async_request(httpx.Request("GET", f"https://{host}/"))
        await transport.aclose()
        assert sockets.connects == []

    async def test_the_transport_refuses_plain_http(self) -> None:
        transport = GuardedTransport(limits=httpx.Limits())
        with pytest.raises(UrlRefused, match="https"):
            await transport.handle_async_request(httpx.Request("GET", "http://vendor.example/"))
        await transport.aclose()
