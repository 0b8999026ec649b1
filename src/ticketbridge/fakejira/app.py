"""ASGI application factory of the fake Jira Cloud.

``create_app()`` returns a Starlette app usable in-process (``httpx.ASGITransport(app=app)``)
or behind uvicorn (:mod:`server`). Its state is ``app.state.fakejira`` (a
:class:`~ticketbridge.fakejira.state.FakeJiraState`).

Unknown paths and methods answer Jira-style JSON (404 ``errorMessages: ["null for uri: ..."]``,
405). The "drop" ambiguous fault closes the connection without any response
(:class:`ticketbridge.fakekit.app.EmulatorApp`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ticketbridge.fakekit.app import EmulatorApp

from . import routes_admin, routes_bulk, routes_issues, routes_meta, routes_search
from .context import JiraJSON, jira_routes
from .state import FakeJiraState


class FakeJiraApp(EmulatorApp):
    """The emulator's Starlette app (see :class:`~ticketbridge.fakekit.app.EmulatorApp`)."""

    @property
    def fakejira(self) -> FakeJiraState:
        state: FakeJiraState = self.state.fakejira
        return state


def _unmatched(request: Request, status: int) -> Response:
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
    return FakeJiraApp(
        state,
        state_name="fakejira",
        routes=[*routes_admin.ROUTES, *jira_routes(declared)],
        unmatched=_unmatched,
    )
