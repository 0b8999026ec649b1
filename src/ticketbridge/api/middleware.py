"""The request edge as pure ASGI middleware (no BaseHTTPMiddleware: it would buffer bodies).

Order, outermost first (see ``install_edge`` in ``app.py``)::

    RequestId -> CORS -> CatchAll -> RateLimit -> BodyLimit -> FastAPI routes

* :class:`RequestIdMiddleware` takes a well-formed ``X-Request-ID`` or makes one, binds it to
  every log event of the request and returns it on every response.
* :class:`CatchAllMiddleware` turns anything unhandled into the one error body: a database
  that cannot be reached is a 503 with ``Retry-After``; anything else is a 500 whose body
  says nothing but the request id, logged once as a structured ``unhandled_error`` event
  (type, route, request id, traceback without locals; never the headers).
* :class:`BodyLimitMiddleware` caps the request body while it streams, so a chunked body
  without ``Content-Length`` is refused after ``limit`` bytes, not after being buffered.
"""

from __future__ import annotations

import itertools
import re
import secrets
import socket
from collections.abc import Iterator
from typing import Any

import structlog
from sqlalchemy import exc as sa_exc
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbridge.errors import TicketbridgeError, error_body
from ticketbridge.logging import get_logger

log = get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
DB_RETRY_AFTER_SECS = 5


def _request_ids() -> Iterator[str]:
    """Ids unique across processes and restarts without a random draw per request (uuid4
    reads the OS's random source each time: a system call, ~4% of a ticket read's CPU under
    load): a random 64-bit prefix per process, then a counter; 32 hex characters as before."""
    prefix = secrets.token_hex(8)
    for n in itertools.count():
        yield f"{prefix}{n & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_next_request_id = _request_ids().__next__


def request_id_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get("request_id", ""))


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        # A caller's id is echoed only when it is harmless in a header and a log line.
        request_id = given if given and _REQUEST_ID.match(given) else _next_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        e = todo.pop()
        if any(e is s for s in seen):
            continue
        seen.append(e)
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        todo.extend(c for c in (e.__cause__, e.__context__) if c is not None)
    return seen


def _pg_connect_errors() -> tuple[type[BaseException], ...]:
    try:
        from asyncpg import exceptions as pg  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return ()
    return (pg.PostgresConnectionError, pg.CannotConnectNowError, pg.TooManyConnectionsError)


_DB_DOWN: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # connect failed, server gone, SQLite file unusable or locked
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,  # pool exhausted for pool_timeout seconds
    ConnectionError,  # asyncpg raises ConnectionRefusedError unwrapped
    socket.gaierror,
    TimeoutError,  # asyncpg connect timeout
    *_pg_connect_errors(),
)


def database_unavailable(exc: BaseException) -> bool:
    for e in _causes(exc):
        if isinstance(e, _DB_DOWN):
            return True
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
    return False


class CatchAllMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request_id = request_id_of(scope)
            where: dict[str, Any] = {"method": scope.get("method"), "path": scope.get("path")}
            if database_unavailable(exc):
                log.warning("database_unavailable", error=type(exc).__name__, **where)
                response = JSONResponse(
                    error_body(
                        "the database is unavailable; retry later",
                        [{"loc": [], "msg": "database unavailable", "type": "unavailable"}],
                    ),
                    status_code=503,
                    headers={"Retry-After": str(DB_RETRY_AFTER_SECS)},
                )
            else:
                # The one event for this 500: no headers, no body, no locals.
                log.error("unhandled_error", error=type(exc).__name__, exc_info=exc, **where)
                response = JSONResponse(
                    error_body(f"internal error (request id {request_id})"), status_code=500
                )
            if started:  # too late for a clean answer; the server closes the connection
                raise
            await response(scope, receive, send)


def error_response(exc: TicketbridgeError) -> JSONResponse:
    """How the app renders a :class:`TicketbridgeError` (its handler in app.py, and
    api/fast_reads.py)."""
    if exc.status_code >= 500:
        log.warning("request_failed", error=type(exc).__name__, message=exc.message)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _too_large(self) -> JSONResponse:
        msg = f"request body is larger than {self.limit} bytes"
        return JSONResponse(
            error_body(msg, [{"loc": ["body"], "msg": msg, "type": "too_large"}]),
            status_code=413,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await self._too_large()(scope, receive, send)
            return
        received = 0
        exceeded = started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # whatever the app made of the failed read, the answer is 413
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._too_large()(scope, receive, send)
