"""The connect-time half of the vendor URL policy (see :mod:`url_policy`).

aiohttp asks its resolver where a new connection may go; :class:`GuardedResolver` resolves
the host itself, refuses it when any address is not public and answers only the addresses it
checked, so the socket goes to a checked address. TLS still uses the host name for SNI and
for certificate verification, and the ``Host`` header keeps the name: only the address the
socket goes to is pinned. A second DNS answer (rebinding) is never asked for.

aiohttp does not ask a resolver about a literal IP host, so the transport checks those
itself before sending.
"""

from __future__ import annotations

import socket
import ssl

import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.connector import SocketFactoryType

from ticketbridge.connectors.aiohttp_transport import AiohttpTransport
from ticketbridge.connectors.url_policy import UrlRefused, checked_addresses, literal_address


class GuardedResolver(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": str(ip),
                "port": port,
                "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
            for ip in await checked_addresses(host, port)
        ]

    async def close(self) -> None:
        return None


class GuardedTransport(AiohttpTransport):
    """A vendor transport that only reaches public https vendors, by checked address."""

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
        socket_factory: SocketFactoryType | None = None,
    ) -> None:
        super().__init__(
            limits=limits,
            ssl_context=ssl_context,
            resolver=GuardedResolver(),
            socket_factory=socket_factory,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "https":
            raise UrlRefused("must use https")
        if url.userinfo:
            raise UrlRefused("must not contain userinfo (user:password@)")
        if literal_address(url.host) is not None:
            await checked_addresses(url.host, url.port or 443)
        return await super().handle_async_request(request)
