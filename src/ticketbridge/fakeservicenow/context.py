"""The request pipeline shared by every ServiceNow route, over HTTP and inside a batch.

Routes are :class:`SnowRoute` declarations whose handlers are synchronous functions of a
:class:`Ctx` returning an :class:`Answer` (status, JSON body, headers): the same handler serves
a real request and a Batch API item. Each HTTP request goes through, in order: instance
selection (``Host`` header), injected latency, rate limiting, pre-apply errors and refusals
(:mod:`faults`), authentication (Basic, or a Bearer token from ``/oauth_token.do``), the
handler, the ambiguous post-apply faults, and request statistics.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, compile_path

from ticketbridge.fakekit.app import after_apply, tenant_of

from .errors import AUTH_DETAIL, BAD_CREDENTIALS, NOT_AUTHENTICATED, RATE_LIMITED, SnowError
from .faults import Faults, RouteKey
from .state import Instance

log = logging.getLogger("ticketbridge.fakeservicenow")
VERSIONS = ("", "v1", "v2")
JSON_TYPE = "application/json;charset=UTF-8"


class SnowJSON(JSONResponse):
    media_type = JSON_TYPE


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    instance: Instance
    user: dict[str, str] | None
    method: str
    path: str
    path_params: dict[str, str]
    params: QueryParams
    body: bytes
    base: str  # scheme://host[:port] as the client addressed the instance
    version: str  # "", "v1" or "v2"
    dispatch: Dispatcher | None = None
    in_batch: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def user_name(self) -> str | None:
        return self.user["user_name"] if self.user else None

    def flag(self, name: str) -> bool:
        return (self.params.get(name) or "").strip().lower() == "true"


Handler = Callable[[Ctx], Answer]


@dataclass(frozen=True)
class SnowRoute:
    methods: tuple[str, ...]
    path: str  # e.g. /api/now{version}/table/{table}; {version} is "", "/v1" or "/v2"
    handler: Handler
    anonymous: bool = False
    versions: tuple[str, ...] = VERSIONS

    def concrete_paths(self) -> list[tuple[str, str]]:
        return [
            (version, self.path.replace("{version}", f"/{version}" if version else ""))
            for version in self.versions
        ]


def route_key(method: str, template: str, path_params: dict[str, str], batch: bool) -> RouteKey:
    """Stats/fault key: the table name is filled in, record ids stay ``{sys_id}``."""
    concrete = template.replace("{table}", path_params.get("table", "{table}"))
    unversioned = concrete.replace("/api/now/v1/", "/api/now/").replace("/api/now/v2/", "/api/now/")
    generic = template.replace("/api/now/v1/", "/api/now/").replace("/api/now/v2/", "/api/now/")
    aliases = tuple(dict.fromkeys(a for a in (unversioned, template, generic) if a != concrete))
    return RouteKey(method, concrete, aliases, batch)


class Dispatcher:
    """Finds the route of a method and path (for Batch API items)."""

    def __init__(self, declared: Sequence[SnowRoute]) -> None:
        self.entries = []
        for route in declared:
            for version, path in route.concrete_paths():
                regex, _, _ = compile_path(path)
                self.entries.append((route, version, path, regex))

    def match(
        self, method: str, path: str
    ) -> tuple[SnowRoute, str, str, dict[str, str]] | None | str:
        """``(route, version, template, params)``; ``"method"`` if only the method is wrong."""
        wrong_method = False
        for route, version, template, regex in self.entries:
            found = regex.match(path)
            if found is None:
                continue
            if method not in route.methods:
                wrong_method = True
                continue
            return route, version, template, found.groupdict()
        return "method" if wrong_method else None


def authenticate(instance: Instance, header: str | None) -> dict[str, str]:
    if not header:
        raise SnowError(401, NOT_AUTHENTICATED, AUTH_DETAIL, headers=_challenge())
    scheme, _, credentials = header.partition(" ")
    user = None
    if scheme.lower() == "basic":
        try:
            name, _, password = base64.b64decode(credentials.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            name = password = ""
        user = instance.authenticate(name, password)
    elif scheme.lower() == "bearer":
        user = instance.token_user(credentials.strip())
    if user is None:
        raise SnowError(401, BAD_CREDENTIALS, AUTH_DETAIL, headers=_challenge())
    return user


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'BASIC realm="Service-now"'}


def pre_apply_faults(faults: Faults, key: RouteKey) -> None:
    fired = faults.before(key)
    if fired is None:
        return
    if fired.kind == "rate_limited":
        raise SnowError(
            429,
            RATE_LIMITED,
            "The rate limit rule for this user was exceeded. Retry after "
            f"{fired.headers['Retry-After']} seconds.",
            headers=fired.headers,
        )
    if fired.kind == "refused":
        raise SnowError(fired.status, fired.refusal.message, fired.refusal.detail)
    raise SnowError(fired.status, f"Injected fault: {fired.status}", None)


def error_answer(exc: SnowError) -> Answer:
    return Answer(exc.status, exc.body(), dict(exc.headers))


def internal_error() -> Answer:
    return Answer(
        500,
        {"error": {"message": "Internal server error", "detail": None}, "status": "failure"},
    )


def to_response(answer: Answer) -> Response:
    if answer.body is None:
        return Response(status_code=answer.status, headers=answer.headers or None)
    return SnowJSON(answer.body, status_code=answer.status, headers=answer.headers or None)


def _endpoint(route: SnowRoute, version: str, template: str, dispatch: Dispatcher) -> Any:
    async def endpoint(request: Request) -> Response:
        instance: Instance = tenant_of(request)
        params = dict(request.path_params)
        key = route_key(request.method, template, params, False)
        instance.stats.started()
        try:
            answer = await _serve(request, route, instance, version, dispatch, key, params)
        finally:
            instance.stats.finished()
        return to_response(answer)

    return endpoint


async def _serve(
    request: Request,
    route: SnowRoute,
    instance: Instance,
    version: str,
    dispatch: Dispatcher,
    key: RouteKey,
    params: dict[str, str],
) -> Answer:
    faults = instance.faults
    try:
        delay = faults.latency_s()
        if delay:
            await asyncio.sleep(delay)
        pre_apply_faults(faults, key)
        user = (
            None
            if route.anonymous
            else authenticate(instance, request.headers.get("authorization"))
        )
        ctx = Ctx(
            instance,
            user,
            request.method,
            request.url.path,
            params,
            request.query_params,
            await request.body(),
            str(request.base_url).rstrip("/"),
            version,
            dispatch,
            headers=request.headers,
        )
        answer = route.handler(ctx)
        if answer.status < 400:
            fault = after_apply(faults, key, request.scope)
            if fault is not None:
                answer = injected_after(fault.status)
    except SnowError as exc:
        answer = error_answer(exc)
    except Exception:  # a bug in the emulator: answer a 500, keep the trace
        log.exception("fakeservicenow: unhandled error in %s %s", request.method, key.template)
        answer = internal_error()
    instance.stats.record(key.stat, answer.status)
    return answer


def injected_after(status: int) -> Answer:
    """The answer of an ambiguous ``5xx`` fault after the request was applied."""
    return Answer(
        status,
        {
            "error": {"message": f"Injected fault after applying: {status}", "detail": None},
            "status": "failure",
        },
    )


def snow_routes(declared: Sequence[SnowRoute]) -> tuple[list[Route], Dispatcher]:
    dispatch = Dispatcher(declared)
    routes = [
        Route(path, _endpoint(r, version, path, dispatch), methods=list(r.methods))
        for r in declared
        for version, path in r.concrete_paths()
    ]
    return routes, dispatch


def json_dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
