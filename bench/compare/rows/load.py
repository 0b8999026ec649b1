"""Many concurrent clients against real API processes: requests/s, percentiles, errors.

Each of ``load_clients`` asyncio tasks loops for ``load_seconds``, picking per request
(seeded): 60% ``GET /v1/itsm/tickets/{id}`` of a stored ticket, 15% the next cursor page
(``limit=50``, its own walk, restarting at the end), 15% passthrough (half
``projects?limit=50``, half ``tickets/search`` of 50 issues), 10% ``POST /v1/itsm/tickets``
(vendor ids). The emulator answers at 0 ms and holds 60 × 20 issues, synced first.

* ``load-sqlite``: one ``serve`` (embedded, SQLite);
* ``load-postgres``: two ``serve`` (distributed, one fresh PostgreSQL database) and one
  ``worker``; the clients are spread over the two processes.

The per-key rate limit is off in both (it is on by default in distributed mode, 20/s): the
scenario is one tenant's traffic. Requests/s counts requests completed inside the window;
percentiles cover every request, including those finishing after it. CPU seconds of the
client (this process) and of each server process are recorded: on 2 shared cores the client
itself takes a share. Each simulated client has its own raw keep-alive connection
(``bench/loadgen.py``, tens of µs of client CPU per request; httpx took about a millisecond
and made the client the bottleneck). A failed request is counted as an error under its
exception name and never retried. Before the mix, the same clients load ``/healthz`` alone
for a third of the time (at most 10 s): the ceiling of these processes' HTTP stack on this
machine, in the row's note.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from ...loadgen import RawConnection
from ..clients import FakeJiraAdmin, percentile, provision, run_sync
from ..plan import Ctx
from ..procs import (
    Proc,
    Procs,
    cpu_seconds,
    create_api_key,
    run_cli,
    service_env,
    wait_ready,
)
from ..stack import sqlite_stack
from .api import JQL, SEED

PG_SERVER = os.environ.get(
    "TICKETBRIDGE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
MIX = (("read", 60), ("page", 15), ("passthrough", 15), ("create", 10))
FLOOR = (("healthz", 1),)


def load(ctx: Ctx) -> None:
    with Procs(ctx.tmp) as procs:
        if ctx.want("load-sqlite"):
            stack = sqlite_stack(procs, ctx, "load", SEED, rate_limit_enabled="false")
            jira, admin = stack.jira, stack.admin
            result = run_load(ctx, "load-sqlite", [stack.api], [jira], stack.headers)
            procs.stop(stack.api)
            ctx.shared["load_sqlite"] = result
            row_for(ctx, "load-sqlite", result, None)
        else:
            jira = procs.fake_jira("load-fakejira")
            admin = FakeJiraAdmin(str(jira.url))
        if ctx.want("load-postgres"):
            admin.seed(SEED)  # the same site as the SQLite run saw, before its creates
            with scratch_database() as url:
                env = service_env(
                    ctx.tmp / "load-pg",
                    database_url=url,
                    mode="distributed",
                    rate_limit_enabled="false",
                )
                with ctx.step("load-postgres: db upgrade, start 2 serve and 1 worker"):
                    run_cli("db", "upgrade", env=env)
                    apis = [procs.serve(f"load-pg-serve-{i}", env, wait=False) for i in range(2)]
                    worker = procs.start("load-pg-worker", ["worker"], env)
                    key = create_api_key(env)
                    wait_ready(*apis)
                    headers = provision(str(apis[0].url), key, str(jira.url))
                result = run_load(ctx, "load-postgres", apis, [jira, worker], headers)
                for proc in [*apis, worker]:
                    procs.stop(proc)
            row_for(ctx, "load-postgres", result, ctx.shared.get("load_sqlite"))


@contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh PostgreSQL database on the bench's server, dropped at the end."""
    name = f"tb_bench_{uuid.uuid4().hex[:10]}"
    server = make_url(PG_SERVER)
    with psycopg.connect(server.render_as_string(False), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(server.render_as_string(False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_load(
    ctx: Ctx, name: str, apis: list[Proc], others: list[Proc], headers: dict[str, str]
) -> dict[str, Any]:
    urls = [str(a.url) for a in apis]
    with ctx.step(f"{name}: full sync of 1,200 issues"):
        run_sync(urls[0], headers, timeout=300)
    with httpx.Client(base_url=urls[0], headers=headers, timeout=60) as c:
        ids = [t["id"] for t in c.get("/v1/itsm/tickets", params={"limit": 1000}).json()["items"]]
    watched = {p.name: p.pid for p in [*apis, *others]}
    s = ctx.scale
    # The HTTP stack's ceiling first: the same clients on ``/healthz`` alone (no key, no
    # database, no vendor), so the mix's figure can be read against what these processes
    # answer at most on this machine.
    ceiling_s = min(10.0, s.load_seconds / 3)
    with ctx.step(f"{name}: ceiling, {s.load_clients} clients on /healthz for {ceiling_s:.0f} s"):
        ceiling = measured(watched, drive(urls, headers, ids, s.load_clients, ceiling_s, FLOOR))
    with ctx.step(f"{name}: {s.load_clients} clients for {s.load_seconds:.0f} s"):
        result = measured(watched, drive(urls, headers, ids, s.load_clients, s.load_seconds))
    result["api_processes"] = len(apis)
    result["healthz_ceiling"] = {
        k: ceiling[k] for k in ("requests_per_s", "p50_ms", "p99_ms", "errors", "cpu_s")
    }
    return result


def measured(watched: dict[str, int], work: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run a load; its figures and the CPU seconds each process spent meanwhile."""
    cpu_before = {n: cpu_seconds(pid) for n, pid in watched.items()}
    client_before = time.process_time()
    result = asyncio.run(work)
    result["cpu_s"] = {
        n: round((cpu_seconds(pid) or 0) - (cpu_before[n] or 0), 1) for n, pid in watched.items()
    }
    result["cpu_s"]["client (this process)"] = round(time.process_time() - client_before, 1)
    return result


async def drive(
    urls: list[str],
    headers: dict[str, str],
    ids: list[str],
    clients: int,
    seconds: float,
    mix: tuple[tuple[str, int], ...] = MIX,
) -> dict[str, Any]:
    # One raw keep-alive connection per simulated client (bench/loadgen.py): httpx cost about
    # a millisecond of client CPU per request, so the load generator was the bottleneck.
    ops = [op for op, _ in mix]
    weights = [w for _, w in mix]
    records: list[tuple[str, float, float, str]] = []  # op, ms, end time, status
    samples: dict[str, list[str]] = {}  # a few answers per error status, to tell causes apart
    start = time.perf_counter()
    stop_at = start + seconds

    async def client(i: int) -> None:
        rng = random.Random(1000 + i)
        http = RawConnection(urls[i % len(urls)], headers)
        cursor: str | None = None
        n = 0
        try:
            while time.perf_counter() < stop_at:
                op = rng.choices(ops, weights)[0]
                n += 1
                t0 = time.perf_counter()
                try:
                    if op == "healthz":
                        r = await http.request("GET", "/healthz")
                    elif op == "read":
                        r = await http.request("GET", f"/v1/itsm/tickets/{rng.choice(ids)}")
                    elif op == "page":
                        params: dict[str, str | int] = (
                            {"cursor": cursor} if cursor else {"limit": 50, "enableCursor": "true"}
                        )
                        r = await http.request("GET", "/v1/itsm/tickets", params)
                        if r.status == 200:
                            cursor = r.json()["next_cursor"]
                    elif op == "passthrough" and n % 2:
                        r = await http.request(
                            "GET", "/v1/itsm/passthrough/projects", {"limit": 50}
                        )
                    elif op == "passthrough":
                        r = await http.request(
                            "GET",
                            "/v1/itsm/passthrough/tickets/search",
                            {"jql": JQL, "limit": 50},
                        )
                    else:
                        r = await http.request(
                            "POST",
                            "/v1/itsm/tickets",
                            body={
                                "name": f"load {i}-{n}",
                                "project_vendor_id": "ACME",
                                "type_vendor_id": "10001",
                            },
                        )
                    status = str(r.status)
                    if r.status >= 400 and len(samples.setdefault(status, [])) < 3:
                        samples[status].append(f"{op}: {r.body[:200]!r}")
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    # Counted as an error, never retried; the next request opens a new
                    # connection (RawConnection closed this one).
                    status = type(exc).__name__
                    if len(samples.setdefault(status, [])) < 3:
                        samples[status].append(f"{op}: {exc!r}"[:200])
                t1 = time.perf_counter()
                records.append((op, (t1 - t0) * 1000, t1, status))
        finally:
            await http.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    drained = time.perf_counter() - start
    in_window = [r for r in records if r[2] <= stop_at]
    latencies = [r[1] for r in records]
    errors = Counter(r[3] for r in records if not r[3].startswith("2"))
    per_op = {}
    for op in ops:
        mine = [r[1] for r in records if r[0] == op]
        if mine:
            per_op[op] = {
                "n": len(mine),
                "p50_ms": round(percentile(mine, 0.5), 1),
                "p99_ms": round(percentile(mine, 0.99), 1),
            }
    return {
        "clients": clients,
        "seconds": seconds,
        "drained_after_s": round(drained, 1),
        "requests": len(records),
        "requests_in_window": len(in_window),
        "requests_per_s": round(len(in_window) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.5), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "errors": sum(errors.values()),
        "errors_by_status": dict(errors),
        "error_samples": samples,
        "per_op": per_op,
    }


def row_for(ctx: Ctx, row_id: str, result: dict[str, Any], base: dict[str, Any] | None) -> None:
    row = ctx.row(row_id)
    rps, p99 = result["requests_per_s"], result["p99_ms"] or 0.0
    row.details = result
    row.value, row.unit = rps, "requests/s"
    ok = p99 < 1000 and result["errors"] == 0
    text = (
        f"{rps:,.0f} requests/s, p50 {_ms(result['p50_ms'])}, p99 {_ms(p99)}, "
        f"{result['errors']} errors ({result['clients']} clients, {result['seconds']:.0f} s)"
    )
    ceiling = result.get("healthz_ceiling")
    if ceiling:
        row.note = (
            f"ceiling: the same clients on `/healthz` alone got {ceiling['requests_per_s']:,.0f}"
            f" requests/s (p99 {_ms(ceiling['p99_ms'])}) from these processes; CPU seconds of "
            "the mix per process: " + ", ".join(f"{n} {v}" for n, v in result["cpu_s"].items())
        )
    if row_id == "load-sqlite":
        row.passed = ok and rps >= 500
    elif base is not None:
        ratio = rps / base["requests_per_s"]
        result["vs_sqlite"] = round(ratio, 2)
        row.passed = ok and ratio >= 1.8
        text += f"; {ratio:.2f}× SQLite"
    else:
        row.passed = None
        text += "; SQLite not measured in this run, so no ratio"
    row.now = text


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"
