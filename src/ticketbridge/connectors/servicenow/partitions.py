"""A full sync's disjoint slices of the table, read concurrently.

ServiceNow has no projects, so a slice is one ``sys_id`` range of the table
(``sys_id>=a^sys_id<b``; the first range is open below and the last open above, so the ranges
cover the table whatever the ids are). Within a slice records come in ``sys_id`` order, which
edits never change, so the last sys_id stored is an exact resume point (``sys_id>last``).

A sys_id is 32 lowercase hex digits; compared as text (how ServiceNow compares them) a fixed
width makes that their numeric order, so the bounds are cut evenly between the table's lowest
and highest sys_id, as numbers. ServiceNow's sys_ids are GUIDs spread evenly over that range,
so equal ranges are roughly equal slices; ids that bunch (imported with chosen sys_ids) make
uneven slices, never wrong ones. A table whose edge ids are not that form reads as one stream.

Planning costs three one-row queries (the count and both edges). A slice is JSON, because the
run's checkpoint stores it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.servicenow import query as q
from ticketbridge.connectors.servicenow.mapping import value

if TYPE_CHECKING:
    from ticketbridge.connectors.servicenow.client import ServiceNowClient

SYS_ID = re.compile(r"[0-9a-f]{32}")
WIDTH = 32


async def plan(
    client: ServiceNowClient, table: str, *, slices: int, min_slice: int
) -> list[dict[str, Any]] | None:
    """About ``slices`` sys_id ranges of at least ``min_slice`` records each; None when the
    table is one slice's worth (or its ids do not split)."""
    count, low, high = await asyncio.gather(
        _count(client, table), _edge(client, table, "ORDERBY"), _edge(client, table, "ORDERBYDESC")
    )
    target = max(min_slice, -(-count // max(1, slices)), 1)
    n = round(count / target)
    if n <= 1 or low is None or high is None or high - low < n:
        return None
    span = high + 1 - low  # integers: 128-bit ids do not fit a float's precision
    bounds: list[str | None] = [None, *(_hex(low + span * i // n) for i in range(1, n)), None]
    return [{"from": bounds[i], "to": bounds[i + 1], "estimate": count // n} for i in range(n)]


async def _count(client: ServiceNowClient, table: str) -> int:
    page = await client.query(table, "", limit=1, fields=("sys_id",))
    return page.total if page.total is not None else len(page.records)


async def _edge(client: ServiceNowClient, table: str, order: str) -> int | None:
    page = await client.query(
        table, f"{order}sys_id", limit=1, fields=("sys_id",), display=False, count=False
    )
    sys_id = value(page.records[0], "sys_id") if page.records else None
    return int(sys_id, 16) if sys_id and SYS_ID.fullmatch(sys_id) else None


def _hex(number: int) -> str:
    return f"{number:0{WIDTH}x}"


def _bound(part: Mapping[str, Any], name: str) -> str | None:
    """A bound of a stored slice, checked again: it goes into a query."""
    bound = part.get(name)
    if bound is None:
        return None
    if not isinstance(bound, str) or not SYS_ID.fullmatch(bound):
        raise ValueError(f"not a sys_id bound: {bound!r}")
    return bound


def query(part: Mapping[str, Any], after: str | None) -> str:
    """The slice's encoded query in sys_id order, starting after the sys_id ``after``."""
    low, high = _bound(part, "from"), _bound(part, "to")
    return q.join(
        f"sys_id>={low}" if low else None,
        f"sys_id<{high}" if high else None,
        f"sys_id>{q.value(after)}" if after else None,
        q.ID_ORDER,
    )


def position(part: Mapping[str, Any], sys_ids: Sequence[str]) -> str | None:
    """The resume point after a page with these records: the highest sys_id of the slice."""
    low, high = _bound(part, "from"), _bound(part, "to")
    inside = [
        i
        for i in sys_ids
        if SYS_ID.fullmatch(i) and (low is None or i >= low) and (high is None or i < high)
    ]
    return max(inside) if inside else None
