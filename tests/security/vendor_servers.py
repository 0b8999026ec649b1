"""Real sockets for the outbound-call tests: a tiny HTTP/1.1 server on loopback whose answers
a test scripts (or that never answers), recording every connection and request; and an API
client over an app that uses the real vendor transport (no ``vendor_transport`` seam)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant, make_key
from ticketbridge.app import create_app
from ticketbridge.config import Settings
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.runtime import Runtime

CONNECTIONS = "/v1/provisioning/connections"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    # When set, the body is sent chunked from this iterator instead of ``body``.
    stream: Callable[[], AsyncIterator[bytes]] | None = None


Handler = Callable[[Seen], Awaitable[Reply | None]]


def json_reply(body: bytes, status: int = 200, *headers: tuple[str, str]) -> Reply:
    return Reply(status, [("Content-Type", "application/json"), *headers], body)


async def _myself(_: Seen) -> Reply:
    return json_reply(b'{"accountId": "5b10a2844c20165700ede21g", "displayName": "Admin"}')


class TinyServer:
    """``handler`` returns the reply, or None to never answer (until the server closes)."""

    def __init__(self, handler: Handler = _myself) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[Seen] = []
        self._stop = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> TinyServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        for writer in self._writers:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            while not self._stop.is_set():
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, path, headers)
                self.requests.append(seen)
                reply = await self.handler(seen)
                if reply is None:
                    await self._stop.wait()
                    return
                await self._write(writer, reply)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _write(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        head = [f"HTTP/1.1 {reply.status} X"] + [f"{k}: {v}" for k, v in reply.headers]
        if reply.stream is None:
            head.append(f"Content-Length: {len(reply.body)}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)
            await writer.drain()
            return
        head.append("Transfer-Encoding: chunked")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        async for chunk in reply.stream():
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


@asynccontextmanager
async def api(
    settings: Settings, retry_policy: RetryPolicy | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The service with its real vendor transport (guarded unless settings allow private)."""
    app = create_app(settings, retry_policy=retry_policy)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tb.test") as client:
            yield client, app.state.services.runtime


async def organization(client: httpx.AsyncClient, runtime: Runtime, account: str) -> Tenant:
    tenant = Tenant(api_key=await make_key(runtime, account))
    r = await client.post(
        "/v1/provisioning/organizations", json={"name": account}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    tenant.org_id = r.json()["id"]
    return tenant


def credentials(base_url: str, email: str = "admin@example.com") -> dict[str, Any]:
    return {"base_url": base_url, "email": email, "api_token": "fake-token"}


async def create_connection(
    client: httpx.AsyncClient, tenant: Tenant, base_url: str, email: str = "admin@example.com"
) -> httpx.Response:
    return await client.post(
        f"/v1/provisioning/organizations/{tenant.org_id}/connections",
        json={"vendor": "JIRA", "credentials": credentials(base_url, email)},
        headers=tenant.headers,
    )


async def connected(
    client: httpx.AsyncClient, tenant: Tenant, base_url: str, email: str = "admin@example.com"
) -> Tenant:
    r = await create_connection(client, tenant, base_url, email)
    assert r.status_code == 201, r.text
    return Tenant(tenant.api_key, tenant.org_id, r.json()["id"])


async def check_connection(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    r = await client.post(f"{CONNECTIONS}/{tenant.connection_id}/test", headers=tenant.headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


class FakeDns:
    """Answers chosen names at the ``socket.getaddrinfo`` level (what asyncio and anyio
    call); every other name goes to the real resolver."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: dict[str, list[str]] = {}
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self._getaddrinfo)

    def _getaddrinfo(self, host: Any, port: Any, *args: Any, **kw: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.names:
            return self._real(host, port, *args, **kw)
        if not self.names[name]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out = []
        for ip in self.names[name]:
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            addr = (ip, int(port or 0), 0, 0) if family == socket.AF_INET6 else (ip, int(port or 0))
            out.append((family, socket.SOCK_STREAM, 6, "", addr))
        return out


def iter_chunks(size: int, count: int | None) -> Callable[[], AsyncIterator[bytes]]:
    """A chunked body of ``count`` chunks of ``size`` bytes (None: endless)."""

    async def gen() -> AsyncIterator[bytes]:
        sent = 0
        while count is None or sent < count:
            yield b" " * size
            sent += 1
            await asyncio.sleep(0)

    return gen
