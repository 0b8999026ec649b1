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

from fastapi import Depends, Query
from pydantic import BaseModel

from ticketbridge.api.pagination import MAX_OFFSET
from ticketbridge.errors import Unprocessable
from ticketbridge.store.keyset import KeysetPage, Seek

T = TypeVar("T")


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(direction: str, anchor: uuid.UUID) -> str:
    raw = json.dumps({"d": direction, "id": str(anchor)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> Seek:
    try:
        padded = value + "=" * (-len(value) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
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


def list_params(
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    enable_cursor: Annotated[
        bool, Query(alias="enableCursor", description="Answer a cursor page")
    ] = False,
    cursor: Annotated[
        str | None, Query(description="next_cursor or previous_cursor of the previous page")
    ] = None,
) -> ListParams:
    seek = decode_cursor(cursor) if cursor else Seek()
    return ListParams(limit, offset, enable_cursor or cursor is not None, seek)


ListDep = Annotated[ListParams, Depends(list_params)]


def check_updated_since(params: ListParams, updated_since: datetime | None) -> None:
    """``updatedSince`` is an offset-mode filter only (as in the compatible API)."""
    if params.cursor_mode and updated_since is not None:
        raise Unprocessable(
            "updatedSince cannot be combined with cursor pagination; use limit and offset",
            field="updatedSince",
            location="query",
        )


def cursor_page(page: KeysetPage[Any], items: list[T]) -> CursorPage[T]:
    return CursorPage[T](
        items=items,
        next_cursor=encode_cursor("a", page.next_after) if page.next_after else None,
        previous_cursor=(
            encode_cursor("b", page.previous_before) if page.previous_before else None
        ),
    )
