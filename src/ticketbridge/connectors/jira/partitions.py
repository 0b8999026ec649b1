"""A full sync's disjoint slices of the issues in scope, read concurrently.

A slice is one project, or, for a big project, one ``id`` range of it (``id >= a AND id < b``;
the first range is open below and the last open above, so the ranges cover the project
whatever the ids are). Within a slice issues come in key order, which edits do not change, so
the last key stored is an exact resume point: ``key > "ENG-123"`` (Jira compares keys within
their project). Without a project filter the projects listed now are sliced, and one more
slice reads whatever lies outside them (a project created meanwhile); it has no resume point
and is read again from its start, which is cheap because it is nearly always empty.

Sizes come from ``approximate-count`` per project; range bounds from the project's first and
last issue in key order (ids grow with creation, so equal id ranges are roughly equal slices).
A slice is JSON, because the run's checkpoint stores it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.jira import jql as jqlb

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient

# Beyond this many projects a full sync reads one ordered stream: a slice per project would
# spend more calls on counting and tiny pages than concurrency wins back.
MAX_PROJECTS = 64
KEY_ORDER = "ORDER BY key ASC"


async def plan(
    client: JiraClient, project_keys: Sequence[str], *, rest: bool, slices: int, min_slice: int
) -> list[dict[str, Any]] | None:
    """About ``slices`` slices of at least ``min_slice`` issues each (small projects are one
    slice each); ``rest`` adds the slice of everything outside ``project_keys``."""
    if len(project_keys) > MAX_PROJECTS:
        return None
    counts = await asyncio.gather(
        *(client.approximate_count(project_query(key)) for key in project_keys)
    )
    target = max(min_slice, -(-sum(counts) // max(1, slices)))
    planned = await asyncio.gather(
        *(
            _split(client, key, count, target)
            for key, count in zip(project_keys, counts, strict=True)
        )
    )
    out = [part for parts in planned for part in parts]
    if rest:
        out.append({"rest": list(project_keys), "estimate": 0})
    return out


async def _split(client: JiraClient, key: str, count: int, target: int) -> list[dict[str, Any]]:
    n = round(count / target) if target else 1
    if n <= 1:
        return [{"project": key, "estimate": count}]
    low, high = await asyncio.gather(_edge_id(client, key, "ASC"), _edge_id(client, key, "DESC"))
    if low is None or high is None or high - low < n:
        return [{"project": key, "estimate": count}]
    width = (high + 1 - low) / n
    bounds: list[int | None] = [None, *(low + round(width * i) for i in range(1, n)), None]
    return [
        {"project": key, "from_id": bounds[i], "to_id": bounds[i + 1], "estimate": count // n}
        for i in range(n)
    ]


async def _edge_id(client: JiraClient, key: str, direction: str) -> int | None:
    body = await client.search_jql(
        f"{jqlb.project_clause([key])} ORDER BY key {direction}", max_results=1, fields=["id"]
    )
    issues = body.get("issues") or []
    try:
        return int(issues[0]["id"]) if issues else None
    except (KeyError, TypeError, ValueError):
        return None


def project_query(key: str) -> str:
    return f"project = {jqlb.quote(key)}"


def query(part: Mapping[str, Any], after: str | None) -> str:
    """The slice's JQL in key order, starting after the key ``after``."""
    if "rest" in part:
        keys: list[str] = list(part["rest"])
        where = f"project not in ({', '.join(map(jqlb.quote, keys))})" if keys else jqlb.EVERYTHING
        return f"{where} {KEY_ORDER}"
    clauses = [project_query(str(part["project"]))]
    if part.get("from_id") is not None:
        clauses.append(f"id >= {int(part['from_id'])}")
    if part.get("to_id") is not None:
        clauses.append(f"id < {int(part['to_id'])}")
    if after:
        clauses.append(f"key > {jqlb.quote(after)}")
    return f"{' AND '.join(clauses)} {KEY_ORDER}"


def position(part: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    """The resume point after a page with these issue keys: the highest key of the slice's
    project (an issue moved to another project meanwhile has a key of that one)."""
    project = part.get("project")
    if not project:
        return None
    prefix = f"{project}-"
    numbers = [
        int(k[len(prefix) :]) for k in keys if k.startswith(prefix) and k[len(prefix) :].isdigit()
    ]
    return f"{prefix}{max(numbers)}" if numbers else None
