"""Offset pages: ``{items, total, limit, offset}`` on every list (compatible API)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")

# Deep offsets cost a scan each and, unbounded, overflow the database's integer
# (offset=99999999999999999999 was a 500); past this, use the cursor mode.
MAX_OFFSET = 1_000_000
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int | None
    limit: int
    offset: int


class OffsetParams(BaseModel):
    limit: int
    offset: int


async def offset_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> OffsetParams:
    return OffsetParams(limit=limit, offset=offset)


OffsetDep = Annotated[OffsetParams, Depends(offset_params)]
