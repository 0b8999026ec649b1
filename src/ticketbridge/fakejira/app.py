"""ASGI application factory of the fake Jira Cloud.

``create_app()`` returns a Starlette app usable in-process (``httpx.ASGITransport(app=app)``)
or behind uvicorn (:mod:`server`). Its state is ``app.state.fakejira`` (a
:class:`~ticketbridge.fakejira.state.FakeJiraState`).

Unknown paths and methods answer Jira-style JSON (404 ``errorMessages: ["null for uri: ..."]``,
405). The "drop" ambiguous fault needs to close the connection without any response: behind
uvicorn the app closes the client's transport itself (reached through uvicorn's ``receive``
callable); in-process (``ASGITransport``) it raises ``httpx.RemoteProtocolError``, the exception
httpx raises when a real server disconnects without answering.
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

from . import routes_admin, routes_bulk, routes_issues, routes_meta, routes_search
from .context import DROP_FLAG, JiraJSON, jira_routes
from .state import FakeJiraState

DROP_MESSAGE = "Server disconnected without sending a response."


class FakeJiraApp(Starlette):
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
    def fakejira(self) -> FakeJiraState:
        state: FakeJiraState = self.state.fakejira
        return state


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


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    state: FakeJiraState = request.app.state.fakejira
    site = state.site(request.headers.get("host", ""))
    site.stats.record(request.method, "<unmatched>", status)
    if status == 405:
        return JiraJSON(
            {"errorMessages": [f"Method {request.method} is not allowed here."], "errors": {}},
            status_code=405,
        )
    return JiraJSON(
        {"errorMessages": [f"null for uri: {request.url}"], "errors": {}}, status_code=404
    )


def create_app(
    sites: FakeJiraState | None = None, *, seed: int | None = None, **state_options: Any
) -> FakeJiraApp:
    """The fake Jira ASGI app.

    ``sites`` is the state to serve (a fresh one by default); ``seed`` (N issues in total per
    site) and ``state_options`` (``faults=``, ``clock=``) configure that fresh state.
    """
    state = sites if sites is not None else FakeJiraState(seed=seed, **state_options)
    declared = (
        *routes_meta.ROUTES,
        *routes_issues.ROUTES,
        *routes_search.ROUTES,
        *routes_bulk.ROUTES,
    )
    app = FakeJiraApp(
        routes=[*routes_admin.ROUTES, *jira_routes(declared)],
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.fakejira = state
    return app
