"""The hottest reads answered without FastAPI's routing and dependency solving.

``GET /v1/itsm/tickets/{ticket_id}`` and the pages of ``GET /v1/itsm/tickets`` (cursor and
offset) are most of a client's traffic (a sync mirror polls them). Through FastAPI each
request walks the route table and solves its dependency tree (services, session, API key,
connection, the query check, the list parameters): about a fifth of a ticket read's CPU,
more than the SQL. The passthrough reads are matched here too (``api/fast_passthrough.py``).
:class:`FastReadsMiddleware`, the innermost middleware, answers them itself with the same
functions the routes use (``api/deps.py``'s key and connection lookups, the ticket
repository, the same rendering), so the answer is byte for byte the route's.

Only the plain form is taken: no query string for a ticket; for a page only ``limit``,
``enableCursor`` and ``cursor`` (cursor mode) or only ``limit`` and ``offset`` (offset mode),
each at most once, a well-formed id, plain digits within the route's bounds.
Anything else (a filter, ``enableCursor=false``, a malformed value: whatever FastAPI would
answer with a validation error) goes to the routes, which stay the documented source of truth
(OpenAPI, validation). Errors the lookups raise (401, 404, 409, 422 of a cursor, 503 of a
busy pool) are rendered as the app's handler renders them, in the routes' order: key, then
connection, then the cursor. ``scope["route"]`` is set to the route answered for, as routing
would, so metrics label the request the same way.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ticketbridge.api import fast_create, fast_passthrough, tickets
from ticketbridge.api.cursor import DEFAULT_LIMIT, ListParams, cursor_page_json, list_params
from ticketbridge.api.deps import Services, resolve_connection
from ticketbridge.api.middleware import error_response
from ticketbridge.api.pagination import MAX_OFFSET
from ticketbridge.api.rendering import json_response
from ticketbridge.errors import NotFound, ServiceUnavailable, TicketbridgeError
from ticketbridge.store.models import Connection
from ticketbridge.tickets.read_json import ticket_json, tickets_json
from ticketbridge.tickets.repository import TicketFilters, TicketRepository

PREFIX = "/v1/itsm/tickets"
_PAGE_PARAMS = frozenset({"limit", "offset", "enableCursor", "cursor"})
_OFFSET_PARAMS = frozenset({"limit", "offset"})
_NO_FILTERS = TicketFilters()


def _route(path: str) -> APIRoute:
    for route in tickets.router.routes:
        if isinstance(route, APIRoute) and route.path == path and "GET" in (route.methods or ()):
            return route
    raise LookupError(path)  # pragma: no cover - the routes are defined in api/tickets.py


class FastReadsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.ticket_route = _route(PREFIX + "/{ticket_id}")
        self.list_route = _route(PREFIX)
        self.passthrough_routes = fast_passthrough.routes()
        self.create_route = fast_create.route()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = None
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path == PREFIX:
                params = _page_params(scope["query_string"])
                if params is not None:
                    scope["route"] = self.list_route
                    page = _page if "enableCursor" in params or "cursor" in params else _offset
                    response = await _answer(scope, page, params)
            elif path.startswith(PREFIX + "/") and not scope["query_string"]:
                ticket_id = _uuid(path[len(PREFIX) + 1 :])
                if ticket_id is not None:
                    scope["route"] = self.ticket_route
                    response = await _answer(scope, _ticket, ticket_id)
            elif path.startswith(fast_passthrough.PREFIX):
                found = fast_passthrough.match(path, scope["query_string"])
                if found is not None:
                    scope["route"] = self.passthrough_routes[path]
                    response = await _answer(scope, *found)
        elif scope["type"] == "http" and scope["method"] == "POST":
            if scope["path"] == fast_create.PATH:
                body, receive = await fast_create.read_body(receive)
                create = fast_create.plain_create(scope, body)
                if create is not None:
                    scope["route"] = self.create_route
                    response = await _answer(scope, fast_create.answer, create)
        if response is None:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


async def _answer(scope: Scope, read: Any, arg: Any) -> Response:
    services: Services = scope["app"].state.services
    headers = Headers(scope=scope)
    try:
        conn = await resolve_connection(
            services, headers.get("x-api-key"), headers.get("x-connection-id")
        )
        response: Response = await read(services, conn, arg)
        return response
    except TicketbridgeError as exc:
        return error_response(exc)


async def _ticket(services: Services, conn: Connection, ticket_id: uuid.UUID) -> Response:
    async with _read_session(services) as session:
        row = await TicketRepository(session).read_row(conn.id, ticket_id)
    if row is None:
        raise NotFound("ticket not found")
    return json_response(ticket_json(row))


async def _page(services: Services, conn: Connection, query: dict[str, str]) -> Response:
    params: ListParams = await list_params(
        limit=int(query["limit"]) if "limit" in query else None,
        enable_cursor=query.get("enableCursor") == "true",
        cursor=query.get("cursor"),
    )
    async with _read_session(services) as session:
        page = await TicketRepository(session).list_keyset(
            conn.id, _NO_FILTERS, limit=params.limit, seek=params.seek
        )
    return cursor_page_json(page, params.limit)


async def _offset(services: Services, conn: Connection, query: dict[str, str]) -> Response:
    limit = int(query["limit"]) if "limit" in query else DEFAULT_LIMIT
    offset = int(query.get("offset", "0"))
    async with _read_session(services) as session:
        rows, total = await TicketRepository(session).list_offset(
            conn.id, _NO_FILTERS, limit=limit, offset=offset
        )
    return json_response(tickets_json(rows, total=total, limit=limit, offset=offset))


class _read_session:  # noqa: N801 (used as a context manager, like the dependency)
    """``api/deps.py``'s read unit of work: never committed; a busy pool is a 503."""

    def __init__(self, services: Services) -> None:
        self.session = (services.read_sessionmaker or services.runtime.sessionmaker)()

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.session.close()
        if isinstance(exc, PoolTimeout):
            raise ServiceUnavailable("the database is busy; retry shortly", retry_after=2) from None


def _uuid(text: str) -> uuid.UUID | None:
    """Only the canonical form (``8-4-4-4-12`` hex digits): ``uuid.UUID`` also takes forms
    the route's validation may refuse (braces, ``urn:uuid:``), left to the route."""
    if len(text) != 36 or not text[8] == text[13] == text[18] == text[23] == "-":
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _page_params(raw: bytes) -> dict[str, str] | None:
    """The query of a plain cursor page (``enableCursor=true`` or a ``cursor``) or of a
    plain offset page (``limit`` and ``offset`` only), or None for anything else."""
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    query = dict(pairs)
    if len(query) != len(pairs) or not query.keys() <= _PAGE_PARAMS:
        return None
    if not _number(query.get("limit"), 1, 1000):
        return None
    if query.keys() <= _OFFSET_PARAMS:
        return query if _number(query.get("offset"), 0, MAX_OFFSET) else None
    if "offset" in query:
        return None  # offset with cursor parameters: the route's rules
    if query.get("enableCursor", "false") not in ("true", "false"):
        return None
    if query.get("enableCursor") != "true" and "cursor" not in query:
        return None  # enableCursor=false: an offset page, in the route
    if query.get("cursor") == "":
        return None
    return query


def _number(value: str | None, low: int, high: int) -> bool:
    """Absent, or plain decimal digits within the route's bounds (anything else, even what
    the route would accept, such as ``+5``, is left to it)."""
    return value is None or (value.isascii() and value.isdigit() and low <= int(value) <= high)
