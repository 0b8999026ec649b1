"""ASGI application factory of the fake ServiceNow instance.

``create_app()`` returns a Starlette app usable in-process (``httpx.ASGITransport(app=app)``)
or behind uvicorn (:mod:`server`). Its state is ``app.state.fakeservicenow`` (a
:class:`~ticketbridge.fakeservicenow.state.FakeServiceNowState`).

Unknown paths answer ServiceNow's 400 ``Requested URI does not represent any resource``,
wrong methods 405. The "drop" ambiguous fault closes the connection without any response
(:class:`ticketbridge.fakekit.app.EmulatorApp`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ticketbridge.fakekit.app import EmulatorApp

from . import routes_admin, routes_batch, routes_oauth, routes_table
from .context import SnowJSON, snow_routes
from .state import FakeServiceNowState


class FakeServiceNowApp(EmulatorApp):
    """The emulator's Starlette app (see :class:`~ticketbridge.fakekit.app.EmulatorApp`)."""

    @property
    def fakeservicenow(self) -> FakeServiceNowState:
        state: FakeServiceNowState = self.state.fakeservicenow
        return state


def _unmatched(request: Request, status: int) -> Response:
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
    return FakeServiceNowApp(
        state,
        state_name="fakeservicenow",
        routes=[*routes_admin.ROUTES, *routes],
        unmatched=_unmatched,
    )
