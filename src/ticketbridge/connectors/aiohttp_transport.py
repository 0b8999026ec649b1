"""Vendor calls' bytes on the wire: an httpx transport that sends through aiohttp.

httpx stays the API every connector uses (requests, responses, auth, content decoding, the
``httpx.ASGITransport`` seam of the tests); only the transport under it changes. httpx's
own transport (httpcore, h11 and anyio, all pure Python) cost ~1 ms of CPU per vendor call,
about a third of a passthrough request on the 2-core benchmark machine; aiohttp's C parser
and asyncio-native pool do the same exchange for a fraction of that (docs/architecture.md,
"Vendor HTTP").

The adapter maps aiohttp's errors onto httpx's tree by what happened, because callers
(connectors/http.py) decide on retries and on "was it sent?" from the httpx class:

- the connection could not be opened (DNS, refused, TLS, certificate): ``ConnectError``;
- no connection in time (pool or connect): ``ConnectTimeout``;
- the answer stopped coming: ``ReadTimeout``;
- the connection broke or the answer was malformed after the request was (maybe) sent:
  ``ReadError`` / ``RemoteProtocolError`` (ambiguous for a write);
- anything else aiohttp reports: ``TransportError``.

Errors that are not aiohttp's (``UrlRefused`` from the guarded resolver) pass unchanged.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
import yarl
from aiohttp.abc import AbstractResolver
from aiohttp.connector import SocketFactoryType

# What aiohttp raises -> what httpx would have raised, most specific first.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.InvalidUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.TransportError),
)
_READ_CHUNK = 64 * 1024


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as exc:
        for aiohttp_error, httpx_error in _ERRORS:
            if isinstance(exc, aiohttp_error):
                raise httpx_error(str(exc) or type(exc).__name__) from exc
        raise  # pragma: no cover - ClientError is the last entry


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._response.content.iter_chunked(_READ_CHUNK):
                yield chunk

    async def aclose(self) -> None:
        # A fully read answer hands its connection back to the pool; a partly read one
        # closes it (aiohttp never reuses a connection with unread bytes).
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 through one aiohttp session (its pool), opened on the first request.

    The session keeps no cookies, never follows redirects, ignores proxy variables and
    leaves content decoding to httpx. ``limits.max_connections`` bounds the open connections
    and ``keepalive_expiry`` their idle life; aiohttp has no separate idle-connection cap.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
        resolver: AbstractResolver | None = None,
        socket_factory: SocketFactoryType | None = None,
    ) -> None:
        self._limits = limits
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._resolver = resolver
        self._socket_factory = socket_factory  # tests record where sockets go
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=self._ssl,
            resolver=self._resolver,
            # Each new connection asks the resolver (the guarded one checks every answer).
            use_dns_cache=False,
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry,
            socket_factory=self._socket_factory,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._open()
        timeout = request.extensions.get("timeout", {})
        with _as_httpx_errors():
            response = await self._session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
