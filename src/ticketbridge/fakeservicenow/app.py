"""ASGI application factory of the fake ServiceNow instance.

``create_app()`` returns a Starlette app usable in-process (``httpx.ASGITransport(app=app)``)
or behind uvicorn (:mod:`server`). Its state is ``app.state.fakeservicenow`` (a
:class:`~ticketbridge.fakeservicenow.state.FakeServiceNowState`).

Unknown paths answer ServiceNow's 400 ``Requested URI does not represent any resource``,
wrong methods 405. The "drop" ambiguous fault closes the connection without any response:
behind uvicorn the app closes the client's transport itself; in-process (``ASGITransport``) it
raises ``httpx.RemoteProtocolError``, what httpx raises when a real server hangs up.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from . import routes_admin, routes_batch, routes_oauth, routes_table
from .context import DROP_FLAG, SnowJSON, snow_routes
from .state import FakeServiceNowState

DROP_MESSAGE = "Server disconnected without sending a response."


class FakeServiceNowApp(Starlette):
    """Starlette, plus the connection-dropping fault (which must sit outside all middleware)."""

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

    @property
    def fakeservicenow(self) -> FakeServiceNowState:
        state: FakeServiceNowState = self.state.fakeservicenow
        return state


async def drop_connection(receive: Receive) -> None:
    """Close the client connection without a response (see module docstring)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        raise httpx.RemoteProtocolError(DROP_MESSAGE)
    transport.close()
    for _ in range(50):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


async def _unmatched(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    state: FakeServiceNowState = request.app.state.fakeservicenow
    instance = state.instance(request.headers.get("host", ""))
    instance.stats.record(f"{request.method} <unmatched>", status)
    if status == 405:
        body = {"error": {"message": "Method not Supported", "detail": None}, "status": "failure"}
        return SnowJSON(body, status_code=405)
    message = f"Requested URI does not represent any resource: {request.url.path}"
    body = {"error": {"message": message, "detail": None}, "status": "failure"}
    return SnowJSON(body, status_code=400)


def create_app(
    instances: FakeServiceNowState | None = None,
    *,
    seed: int | None = None,
    **state_options: Any,
) -> FakeServiceNowApp:
    """The fake ServiceNow ASGI app.

    ``instances`` is the state to serve (a fresh one by default); ``seed`` (N incidents per
    instance) and ``state_options`` (``faults=``, ``clock=``) configure that fresh state.
    """
    state = instances if instances is not None else FakeServiceNowState(seed=seed, **state_options)
    declared = (*routes_table.ROUTES, *routes_batch.ROUTES, *routes_oauth.ROUTES)
    routes, _ = snow_routes(declared)
    app = FakeServiceNowApp(
        routes=[*routes_admin.ROUTES, *routes],
        exception_handlers={404: _unmatched, 405: _unmatched},
    )
    app.state.fakeservicenow = state
    return app
