"""The two hot passthrough reads answered without FastAPI's routing and dependency solving.

``GET /v1/itsm/passthrough/projects`` (a dropdown) and ``GET /v1/itsm/passthrough/tickets/
search`` are called per keystroke or page view; through FastAPI each request walked the route
table and solved the dependency tree (services, API key, connection, passthrough service,
page parameters): a quarter of the request's CPU besides the vendor call. As for the ticket
reads (``api/fast_reads.py``, whose middleware calls :func:`match`), only the plain forms are
taken and answered with the routes' own calls (``api/passthrough.py``'s service and
writers): projects with only ``limit`` and ``offset``; search with ``jql`` and optionally
``limit`` and ``cursor``, each once, every value within the route's bounds. Anything else
(another parameter, a value the route would refuse or parse leniently) goes to the route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.responses import Response

from ticketbridge.api import passthrough
from ticketbridge.api.deps import Services
from ticketbridge.api.pagination import MAX_LIMIT, MAX_OFFSET, OffsetParams
from ticketbridge.passthrough.cursor import MAX_CURSOR_LENGTH
from ticketbridge.passthrough.service import open_service
from ticketbridge.store.models import Connection

PREFIX = "/v1/itsm/passthrough"
PROJECTS = PREFIX + "/projects"
SEARCH = PREFIX + "/tickets/search"
_PROJECT_PARAMS = frozenset({"limit", "offset"})
_SEARCH_PARAMS = frozenset({"jql", "limit", "cursor"})
MAX_JQL = 5000  # the route's max_length
DEFAULT_SEARCH_LIMIT = 50

Reader = Callable[[Services, Connection, dict[str, str]], Awaitable[Response]]


def routes() -> dict[str, APIRoute]:
    found = {
        route.path: route
        for route in passthrough.router.routes
        if isinstance(route, APIRoute) and route.path in (PROJECTS, SEARCH)
    }
    assert len(found) == 2, found  # the routes are defined in api/passthrough.py
    return found


def match(path: str, raw_query: bytes) -> tuple[Reader, dict[str, str]] | None:
    """(the reader, the query) for a plain request of one of the two routes, else None."""
    if path == PROJECTS:
        query = _query(raw_query, _PROJECT_PARAMS)
        if query is None or not _number(query.get("limit"), 1, MAX_LIMIT):
            return None
        return (_projects, query) if _number(query.get("offset"), 0, MAX_OFFSET) else None
    if path == SEARCH:
        query = _query(raw_query, _SEARCH_PARAMS)
        if query is None or not 1 <= len(query.get("jql", "")) <= MAX_JQL:
            return None
        if not _number(query.get("limit"), 1, 100):
            return None
        if not 1 <= len(query.get("cursor", "-")) <= MAX_CURSOR_LENGTH:
            return None  # an empty cursor is the route's (it means none)
        return _search, query
    return None


async def _projects(services: Services, conn: Connection, query: dict[str, str]) -> Response:
    service = open_service(services.runtime, services.passthrough, conn)
    page = OffsetParams(limit=int(query.get("limit", "100")), offset=int(query.get("offset", "0")))
    items, total = await service.projects(
        offset=page.offset, limit=page.limit, query=None, expand_issue_types=False
    )
    return passthrough.vendor_page(items, total, page)


async def _search(services: Services, conn: Connection, query: dict[str, str]) -> Response:
    service = open_service(services.runtime, services.passthrough, conn)
    return passthrough.vendor_json(
        await service.search(
            queries={"jql": query["jql"], "query": None},
            cursor=query.get("cursor"),
            limit=int(query.get("limit", DEFAULT_SEARCH_LIMIT)),
            fields=None,
            normalized=False,
        )
    )


def _query(raw: bytes, allowed: frozenset[str]) -> dict[str, str] | None:
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    query = dict(pairs)
    if len(query) != len(pairs) or not query.keys() <= allowed:
        return None
    return query


def _number(value: str | None, low: int, high: int) -> bool:
    """Absent, or plain decimal digits within the route's bounds."""
    return value is None or (value.isascii() and value.isdigit() and low <= int(value) <= high)
