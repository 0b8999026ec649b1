"""A minimal HTTP/1.1 keep-alive client for load scenarios.

httpx spends about a millisecond of CPU per request; with 200 concurrent clients in one
process the load generator, not the server under test, became the bottleneck (~100
requests/s, the client process waiting on its own event loop). This client writes a request
as bytes on its own connection and reads one ``Content-Length`` answer: tens of microseconds.
It knows only what ticketbridge's and fakejira's answers need (no chunked bodies, no
redirects, no TLS).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawConnection:
    """One keep-alive connection; requests on it are sequential (one simulated client)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Answer:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        target = f"{path}?{urlencode(params)}" if params else path
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.fixed}"
            f"Content-Length: {len(payload)}\r\n"
            + ("Content-Type: application/json\r\n" if payload else "")
            + "\r\n"
        )
        try:
            self.writer.write(head.encode() + payload)
            return await self._answer()
        except BaseException:
            # A half-read answer leaves the stream unusable: drop the connection, and let the
            # caller count the failure (the next request opens a fresh connection).
            await self.close()
            raise

    async def _answer(self) -> Answer:
        assert self.reader is not None
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        close = False
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return Answer(status, body)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except ConnectionError:
                pass
        self.reader = self.writer = None
