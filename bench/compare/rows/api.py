"""Per-request overhead and reads: one ``serve`` (SQLite) and one ``fake-jira`` at 0 ms.

The emulator holds 60 projects × 20 issues; a full sync stores them. Then, in one process:

* ``create``: ``POST /v1/itsm/tickets`` (vendor ids) vs ``POST /rest/api/3/issue``;
* ``passthrough-projects`` / ``passthrough-search``: the passthrough route vs the same Jira
  call made directly (``project/search`` 50, ``search/jql`` 50 issues);
* ``read-floor``: ``GET /v1/itsm/tickets/{id}`` vs ``/healthz``;

pairs alternate (direct, ours, direct, …) so drift hits both sides. Then ``serve`` is
stopped, the store grown with SQL (:mod:`bench.compare.seedstore`) and restarted for
``list-5k`` (offset and cursor walks over every page) and ``keyset-deep`` (the first cursor
page vs a page 90% deep, at 1M tickets).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import httpx

from ticketbridge.api.cursor import encode_cursor
from ticketbridge.connectors.jira.passthrough_mapping import NORMALIZED_FIELDS

from ..clients import ADMIN, paired, percentile, run_sync
from ..plan import Ctx
from ..procs import Proc, Procs
from ..seedstore import grow_tickets, ticket_id_at
from ..stack import Stack, sqlite_stack

SEED = {"projects": 60, "issues_per_project": 20, "users": 80, "seed": 1}
JQL = "project = ACME ORDER BY id ASC"
PAGE = 50


def api(ctx: Ctx) -> None:
    s = ctx.scale
    with Procs(ctx.tmp) as procs:
        stack = sqlite_stack(procs, ctx, "api", SEED)
        with ctx.step("api: full sync of 1,200 issues"):
            run_sync(stack.api_url, stack.headers, timeout=300)
        if ctx.want("create", "passthrough-projects", "passthrough-search", "read-floor"):
            with ctx.step("api: overhead pairs"):
                asyncio.run(overhead(ctx, stack.jira_url, stack.api_url, stack.headers))
        if ctx.want("list-5k"):
            serve = restart_grown(procs, ctx, stack, s.list_stored)
            with ctx.step("api: offset and cursor walks"):
                asyncio.run(lists(ctx, serve, stack.headers))
        if ctx.want("keyset-deep"):
            serve = restart_grown(procs, ctx, stack, s.keyset_stored)
            anchor = ticket_id_at(stack.db, stack.connection_id, int(s.keyset_stored * 0.9))
            with ctx.step("api: first vs deep keyset pages"):
                asyncio.run(keyset(ctx, serve, stack.headers, anchor))


def restart_grown(procs: Procs, ctx: Ctx, stack: Stack, total: int) -> Proc:
    """Stop ``serve``, grow the store to ``total`` tickets with SQL, start it again."""
    procs.stop(stack.api)
    with ctx.step(f"api: grow the store to {total:,} tickets (SQL)"):
        grown = grow_tickets(stack.db, stack.connection_id, total)
    ctx.shared.setdefault("grown", []).append(grown)
    with ctx.step("api: restart serve"):
        stack.api = procs.serve(f"api-serve-{total}", stack.env)
    return stack.api


async def overhead(ctx: Ctx, jira_url: str, api_url: str, headers: dict[str, str]) -> None:
    s = ctx.scale
    counter = itertools.count()
    async with (
        httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60) as ours,
        httpx.AsyncClient(base_url=jira_url, auth=ADMIN, timeout=60) as jira,
    ):
        if ctx.want("create"):
            result = await paired(
                lambda: jira.post(
                    "/rest/api/3/issue",
                    json={
                        "fields": {
                            "project": {"key": "ACME"},
                            "summary": f"direct {next(counter)}",
                            "issuetype": {"id": "10001"},
                        }
                    },
                ),
                lambda: ours.post(
                    "/v1/itsm/tickets",
                    json={
                        "name": f"ours {next(counter)}",
                        "project_vendor_id": "ACME",
                        "type_vendor_id": "10001",
                    },
                ),
                s.create_pairs,
                s.warmup,
                expect=(201, 200),
            )
            overhead_row(ctx, "create", result, 5.0, "POST /rest/api/3/issue")
        if ctx.want("passthrough-projects"):
            result = await paired(
                lambda: jira.get(
                    "/rest/api/3/project/search", params={"startAt": 0, "maxResults": PAGE}
                ),
                lambda: ours.get("/v1/itsm/passthrough/projects", params={"limit": PAGE}),
                s.projects_pairs,
                s.warmup,
            )
            overhead_row(ctx, "passthrough-projects", result, 3.0, "project/search")
        if ctx.want("passthrough-search"):
            body = {"jql": JQL, "maxResults": PAGE, "fields": list(NORMALIZED_FIELDS)}
            result = await paired(
                lambda: jira.post("/rest/api/3/search/jql", json=body),
                lambda: ours.get(
                    "/v1/itsm/passthrough/tickets/search", params={"jql": JQL, "limit": PAGE}
                ),
                s.search_pairs,
                s.warmup,
            )
            overhead_row(ctx, "passthrough-search", result, 5.0, "search/jql")
        if ctx.want("read-floor"):
            listed = (await ours.get("/v1/itsm/tickets", params={"limit": 1000})).json()
            ids = itertools.cycle([t["id"] for t in listed["items"]])
            result = await paired(
                lambda: ours.get("/healthz"),
                lambda: ours.get(f"/v1/itsm/tickets/{next(ids)}"),
                s.floor_pairs,
                s.warmup,
            )
            row = ctx.row("read-floor")
            p50 = result["ours_p50_ms"]
            row.value, row.unit, row.passed, row.details = p50, "ms", p50 < 3.0, result
            row.now = f"{p50:.1f} ms (`/healthz` {result['direct_p50_ms']:.1f} ms)"


def overhead_row(ctx: Ctx, row_id: str, result: dict[str, Any], limit: float, direct: str) -> None:
    row = ctx.row(row_id)
    over = result["overhead_p50_ms"]
    row.value, row.unit, row.passed, row.details = over, "ms", over < limit, result
    row.now = (
        f"{over:.1f} ms ({result['ours_p50_ms']:.1f} vs {result['direct_p50_ms']:.1f} "
        f"direct `{direct}`, n={result['n']})"
    )


async def lists(ctx: Ctx, serve: Proc, headers: dict[str, str]) -> None:
    offset_ms: list[float] = []
    cursor_ms: list[float] = []
    async with httpx.AsyncClient(base_url=str(serve.url), headers=headers, timeout=60) as c:
        await c.get("/v1/itsm/tickets", params={"limit": PAGE})  # warm the connection
        for _ in range(ctx.scale.list_walks):
            offset = 0
            while True:
                start = time.perf_counter()
                r = await c.get("/v1/itsm/tickets", params={"limit": PAGE, "offset": offset})
                offset_ms.append((time.perf_counter() - start) * 1000)
                r.raise_for_status()
                offset += PAGE
                if offset >= r.json()["total"]:
                    break
            params: dict[str, Any] = {"limit": PAGE, "enableCursor": "true"}
            while True:
                start = time.perf_counter()
                r = await c.get("/v1/itsm/tickets", params=params)
                cursor_ms.append((time.perf_counter() - start) * 1000)
                r.raise_for_status()
                nxt = r.json()["next_cursor"]
                if not nxt:
                    break
                params = {"cursor": nxt}
    o50, c50 = percentile(offset_ms, 0.5), percentile(cursor_ms, 0.5)
    row = ctx.row("list-5k")
    row.value, row.unit = round(o50, 2), "ms (offset p50)"
    row.passed = o50 < 10.0 and c50 < 8.0
    row.details = {
        "stored": ctx.shared["grown"][-1]["tickets"],
        "grow": ctx.shared["grown"][-1],
        "offset_pages": len(offset_ms),
        "offset_p50_ms": round(o50, 2),
        "offset_p99_ms": round(percentile(offset_ms, 0.99), 2),
        "cursor_pages": len(cursor_ms),
        "cursor_p50_ms": round(c50, 2),
        "cursor_p99_ms": round(percentile(cursor_ms, 0.99), 2),
    }
    row.now = (
        f"{o50:.1f} / {c50:.1f} ms ({row.details['stored']:,} stored, every page of 50 walked "
        f"{ctx.scale.list_walks}× each way)"
    )


async def keyset(ctx: Ctx, serve: Proc, headers: dict[str, str], anchor: str) -> None:
    deep = {"cursor": encode_cursor("a", uuid.UUID(anchor), PAGE)}
    first: dict[str, str | int] = {"limit": PAGE, "enableCursor": "true"}
    async with httpx.AsyncClient(base_url=str(serve.url), headers=headers, timeout=120) as c:
        result = await paired(
            lambda: c.get("/v1/itsm/tickets", params=first),
            lambda: c.get("/v1/itsm/tickets", params=deep),
            ctx.scale.keyset_pairs,
            min(ctx.scale.warmup, 3),
        )
    ratio = result["ours_p50_ms"] / result["direct_p50_ms"]
    grown = ctx.shared["grown"][-1]
    row = ctx.row("keyset-deep")
    row.value, row.unit, row.passed = round(ratio, 2), "× first page", ratio <= 1.5
    row.details = {
        "stored": grown["tickets"],
        "grow": grown,
        "first_p50_ms": result["direct_p50_ms"],
        "first_p99_ms": result["direct_p99_ms"],
        "deep_p50_ms": result["ours_p50_ms"],
        "deep_p99_ms": result["ours_p99_ms"],
        "deep_position": int(ctx.scale.keyset_stored * 0.9),
        "n": result["n"],
    }
    row.now = (
        f"{ratio:.2f}× ({result['ours_p50_ms']:.1f} vs {result['direct_p50_ms']:.1f} ms p50, "
        f"{grown['tickets']:,} stored, page at 90%)"
    )
