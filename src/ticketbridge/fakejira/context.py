"""The request pipeline shared by every Jira route.

:func:`jira_routes` turns :class:`JiraRoute` declarations into Starlette routes under both
``/rest/api/2`` and ``/rest/api/3``. Each request then goes through, in order: site selection
(``Host`` header), request statistics, injected latency, rate limiting, pre-apply errors and
refusals (:mod:`faults`), Basic authentication, due bulk tasks, the handler, and finally the
ambiguous post-apply faults. Handlers are synchronous functions of a :class:`Ctx`: the
emulator's state is in memory, so nothing in a handler awaits.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ticketbridge.fakekit.app import after_apply, tenant_of
from ticketbridge.fakekit.faults import Fired, RouteKey

from .errors import (
    BODY_EMPTY,
    BODY_NOT_AN_OBJECT,
    BODY_UNPARSEABLE,
    NOT_AUTHENTICATED,
    JiraError,
)
from .faults import RATE_LIMIT_MESSAGE
from .model import User
from .state import Site

log = logging.getLogger("ticketbridge.fakejira")
API_VERSIONS = (2, 3)


class JiraJSON(JSONResponse):
    """JSON with the media type Jira Cloud sends."""

    media_type = "application/json;charset=UTF-8"


def no_content() -> Response:
    return Response(status_code=204)


@dataclass
class Ctx:
    request: Request
    site: Site
    user: User | None
    api_version: int
    template: str
    body: bytes

    @property
    def base(self) -> str:
        """``scheme://host[:port]`` as the client addressed us; every ``self`` link uses it."""
        return str(self.request.base_url).rstrip("/")

    @property
    def api(self) -> str:
        return f"/rest/api/{self.api_version}"

    @property
    def account_id(self) -> str | None:
        return self.user.account_id if self.user else None

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def query_list(self, name: str) -> list[str]:
        return self.request.query_params.getlist(name)

    def flag(self, name: str) -> bool:
        return (self.query(name) or "").lower() == "true"

    def int_query(self, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        """An integer parameter, clamped to ``[low, high]`` as Jira's paged listings do."""
        raw = self.query(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            raise JiraError(400, f"Failed to convert '{name}' with value: '{raw}'") from None
        value = max(low, value)
        return min(high, value) if high is not None else value

    def json(self, *, optional: bool = False) -> Any:
        """The JSON body; Jira's 400 texts for an empty, unparseable or non-object body."""
        if not self.body.strip():
            if optional:
                return {}
            raise JiraError(400, BODY_EMPTY)
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise JiraError(400, BODY_UNPARSEABLE) from None
        if not isinstance(data, dict):
            raise JiraError(400, BODY_NOT_AN_OBJECT)
        return data


Handler = Callable[[Ctx], Response]


@dataclass(frozen=True)
class JiraRoute:
    methods: tuple[str, ...]
    path: str  # below /rest/api/{2,3}
    handler: Handler
    anonymous: bool = False  # serverInfo answers without credentials, like Jira Cloud
    bulk_errors: bool = False  # errors use BulkOperationErrorResponse


def error_response(exc: JiraError, *, bulk: bool = False) -> Response:
    body = exc.bulk_body() if bulk else exc.collection()
    return JiraJSON(body, status_code=exc.status, headers=exc.headers or None)


def authenticate(request: Request, site: Site, *, anonymous: bool) -> User | None:
    header = request.headers.get("authorization")
    realm = {"WWW-Authenticate": f'OAuth realm="{request.base_url.netloc}"'}
    if not header:
        if anonymous:
            return None
        raise JiraError(401, NOT_AUTHENTICATED, headers=realm)
    scheme, _, encoded = header.partition(" ")
    user = None
    if scheme.lower() == "basic":
        try:
            email, _, token = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            email = token = ""
        user = site.authenticate(email, token)
    if user is None:
        raise JiraError(401, NOT_AUTHENTICATED, headers=realm)
    return user


def _endpoint(route: JiraRoute, version: int) -> Callable[[Request], Any]:
    template = f"/rest/api/{version}{route.path}"
    keys = {method: RouteKey(method, template) for method in route.methods}

    async def endpoint(request: Request) -> Response:
        site: Site = tenant_of(request)
        method = request.method
        key = keys.get(method) or RouteKey(method, template)
        site.stats.started()
        try:
            return await _serve(request, route, site, version, key)
        finally:
            site.stats.finished()

    return endpoint


async def _serve(
    request: Request, route: JiraRoute, site: Site, version: int, key: RouteKey
) -> Response:
    faults = site.faults
    try:
        delay = faults.latency_s()
        if delay:
            await asyncio.sleep(delay)
        fired = faults.before(key)
        if fired is not None:
            raise _fault_error(fired)
        user = authenticate(request, site, anonymous=route.anonymous)
        site.tasks.pump()
        ctx = Ctx(request, site, user, version, key.template, await request.body())
        response = route.handler(ctx)
        if response.status_code < 400:
            fault = after_apply(faults, key, request.scope)
            if fault is not None:
                response = JiraJSON(
                    {
                        "errorMessages": [f"Injected fault after applying: {fault.status}."],
                        "errors": {},
                    },
                    status_code=fault.status,
                )
    except JiraError as exc:
        response = error_response(exc, bulk=route.bulk_errors)
    except Exception:  # a bug in the emulator: answer like Jira's 500, keep the trace
        log.exception("fakejira: unhandled error in %s %s", key.method, key.template)
        response = JiraJSON(
            {"errorMessages": ["Internal server error"], "errors": {}}, status_code=500
        )
    site.stats.record(key.stat, response.status_code)
    return response


def _fault_error(fired: Fired) -> JiraError:
    if fired.kind == "rate_limited":
        return JiraError(429, RATE_LIMIT_MESSAGE, headers=fired.headers)
    if fired.kind == "refused":
        return JiraError(fired.status, fired.refusal.message)
    return JiraError(fired.status, f"Injected fault: {fired.status}.")


def jira_routes(declared: Sequence[JiraRoute]) -> list[Route]:
    return [
        Route(f"/rest/api/{version}{r.path}", _endpoint(r, version), methods=list(r.methods))
        for version in API_VERSIONS
        for r in declared
    ]
