"""Offset pages: ``{items, total, limit, offset}`` on every list (compatible API)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int | None
    limit: int
    offset: int


class OffsetParams(BaseModel):
    limit: int
    offset: int


def offset_params(
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OffsetParams:
    return OffsetParams(limit=limit, offset=offset)


OffsetDep = Annotated[OffsetParams, Depends(offset_params)]
