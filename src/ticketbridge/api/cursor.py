"""The two list modes of the synced read endpoints.

- offset mode (default): ``limit`` + ``offset`` -> ``{items, total, limit, offset}``;
- cursor mode (``enableCursor=true``, or any ``cursor=``) -> ``{items, next_cursor,
  previous_cursor}``, a keyset walk in id order (see ``store/keyset.py``).

A cursor is opaque to clients: URL-safe base64 of ``{"d": "a"|"b", "id": <uuid>}`` meaning
"the rows after / before this id".
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.responses import Response

from ticketbridge.api.pagination import MAX_OFFSET
from ticketbridge.api.rendering import json_response
from ticketbridge.errors import Unprocessable
from ticketbridge.store.keyset import KeysetPage, Seek
from ticketbridge.tickets.read_json import tickets_json

T = TypeVar("T")
DEFAULT_LIMIT = 100


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(direction: str, anchor: uuid.UUID, limit: int | None = None) -> str:
    data: dict[str, Any] = {"d": direction, "id": str(anchor)}
    if limit is not None:  # the next page keeps the page size without the client resending it
        data["l"] = limit
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_data(value: str) -> Any:
    padded = value + "=" * (-len(value) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def cursor_limit(value: str) -> int | None:
    try:
        limit = _cursor_data(value).get("l")
    except (ValueError, AttributeError, TypeError, binascii.Error, UnicodeError):
        return None
    return limit if isinstance(limit, int) and 1 <= limit <= 1000 else None


def decode_cursor(value: str) -> Seek:
    try:
        data = _cursor_data(value)
        anchor = uuid.UUID(str(data["id"]))
        direction = data["d"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise Unprocessable(
            "cursor is not a cursor returned by this API", field="cursor", location="query"
        ) from None
    if direction == "a":
        return Seek(after=anchor)
    if direction == "b":
        return Seek(before=anchor)
    raise Unprocessable(
        "cursor is not a cursor returned by this API", field="cursor", location="query"
    )


@dataclass(frozen=True)
class ListParams:
    limit: int
    offset: int
    cursor_mode: bool
    seek: Seek


async def list_params(
    limit: Annotated[int | None, Query(ge=1, le=1000, description="Default 100")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    enable_cursor: Annotated[
        bool, Query(alias="enableCursor", description="Answer a cursor page")
    ] = False,
    cursor: Annotated[
        str | None, Query(description="next_cursor or previous_cursor of the previous page")
    ] = None,
) -> ListParams:
    seek = decode_cursor(cursor) if cursor else Seek()
    if limit is None:
        limit = (cursor_limit(cursor) if cursor else None) or DEFAULT_LIMIT
    return ListParams(limit, offset, enable_cursor or cursor is not None, seek)


async def _project_filter(
    project_id: Annotated[uuid.UUID | None, Query(description="Only this project")] = None,
    project_id_camel: Annotated[
        uuid.UUID | None, Query(alias="projectId", description="Same as project_id")
    ] = None,
) -> uuid.UUID | None:
    """Both spellings, on every list that filters by project (they once differed per list)."""
    if project_id and project_id_camel and project_id != project_id_camel:
        raise Unprocessable(
            "project_id and projectId name different projects; send one",
            field="projectId",
            location="query",
        )
    return project_id or project_id_camel


ProjectFilterDep = Annotated[uuid.UUID | None, Depends(_project_filter)]


async def known_query_only(request: Request) -> None:
    """422 naming every query parameter the route does not know (a misspelt filter was
    silently ignored and answered the whole list)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _known_query(route)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": "unknown query parameter",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )


_KNOWN: dict[int, frozenset[str]] = {}


def _known_query(route: APIRoute) -> frozenset[str]:
    known = _KNOWN.get(id(route))
    if known is None:
        known = _KNOWN[id(route)] = frozenset(_aliases(route.dependant))
    return known


def _aliases(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _aliases(sub)
    return names


ListDep = Annotated[ListParams, Depends(list_params)]


def check_updated_since(params: ListParams, updated_since: datetime | None) -> None:
    """``updatedSince`` is an offset-mode filter only (as in the compatible API)."""
    if params.cursor_mode and updated_since is not None:
        raise Unprocessable(
            "updatedSince cannot be combined with cursor pagination; use limit and offset",
            field="updatedSince",
            location="query",
        )


def cursor_page(page: KeysetPage[Any], items: list[T], limit: int | None = None) -> CursorPage[T]:
    return CursorPage[T](
        items=items,
        next_cursor=encode_cursor("a", page.next_after, limit) if page.next_after else None,
        previous_cursor=(
            encode_cursor("b", page.previous_before, limit) if page.previous_before else None
        ),
    )


def cursor_page_json(page: KeysetPage[dict[str, Any]], limit: int) -> Response:
    """A cursor page of ticket rows (``READ_COLUMNS`` by name), as ``cursor_page`` of their
    ``TicketRead`` models would be written (tickets/read_json.py)."""
    return json_response(
        tickets_json(
            page.items,
            next_cursor=encode_cursor("a", page.next_after, limit) if page.next_after else None,
            previous_cursor=(
                encode_cursor("b", page.previous_before, limit) if page.previous_before else None
            ),
        )
    )
