"""The ASGI plumbing every emulator shares: the app class, tenant selection, unmatched routes
and the connection-dropping fault.

:class:`EmulatorApp` is Starlette plus the "drop" ambiguous fault, which must sit outside all
middleware: a pipeline that draws it calls :func:`after_apply`, which flags the request; the
app then swallows the response and closes the connection without any answer. Behind uvicorn it
closes the client's transport itself (reached through uvicorn's ``receive`` callable);
in-process (``httpx.ASGITransport``) it raises ``httpx.RemoteProtocolError``, what httpx raises
when a real server hangs up without answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

from .faults import AmbiguousFault, Faults, RouteKey
from .tenants import Tenants

DROP_FLAG = "fakekit.drop"
DROP_MESSAGE = "Server disconnected without sending a response."
UNMATCHED = "<unmatched>"

# (request, status 404 or 405) -> the vendor's answer to a path or method it does not serve
UnmatchedAnswer = Callable[[Request, int], Response]


class EmulatorApp(Starlette):
    """Starlette serving one :class:`~.tenants.Tenants` registry (``app.tenants``, and
    ``app.state.<state_name>`` for the vendor's name of it), plus the connection-dropping
    fault. Requests to no route answer ``unmatched(request, status)`` and count in the
    tenant's stats as ``"METHOD <unmatched>"``."""

    def __init__(
        self,
        tenants: Tenants[Any],
        *,
        state_name: str,
        routes: Sequence[BaseRoute],
        unmatched: UnmatchedAnswer,
    ) -> None:
        async def not_served(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 404
            tenant_of(request).stats.record(f"{request.method} {UNMATCHED}", status)
            return unmatched(request, status)

        super().__init__(routes=routes, exception_handlers={404: not_served, 405: not_served})
        self.tenants = tenants
        setattr(self.state, state_name, tenants)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        flag = [False]
        scope[DROP_FLAG] = flag

        async def guarded_send(message: Message) -> None:
            if not flag[0]:
                await send(message)

        await super().__call__(scope, receive, guarded_send)
        if flag[0]:
            await drop_connection(receive)


def tenant_of(request: Request) -> Any:
    """The tenant the request's ``Host`` header selects (the vendor types it)."""
    return request.app.tenants.tenant(request.headers.get("host", ""))


def after_apply(faults: Faults[Any], key: RouteKey, scope: Scope) -> AmbiguousFault | None:
    """Draw the ambiguous fault after a successful request: a ``5xx`` one is returned for the
    vendor to answer; a ``drop`` one flags the connection to be dropped (``None`` returned)."""
    fault = faults.ambiguous(key)
    if fault is None:
        return None
    if fault.mode == "drop":
        flag = scope.get(DROP_FLAG)
        if isinstance(flag, list):
            flag[0] = True
        return None
    return fault


async def drop_connection(receive: Receive) -> None:
    """Close the client connection without a response (see module docstring)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise httpx.RemoteProtocolError(DROP_MESSAGE)
    transport.close()
    # Let the server notice the disconnect before the app returns, so that it does not try
    # to send its own 500 ("ASGI callable returned without starting response").
    for _ in range(50):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
