"""Sync throughput: full syncs of a seeded fakejira site into an empty store.

Three scenarios (``--scenario``):

``loopback`` (default): the emulator runs as its own ``ticketbridge fake-jira`` process on a
    loopback port, seeded with ``--issues`` (10,000) issues at ``--latency-ms`` (0). Each run
    pages the sync's full query with a plain httpx client (POST ``search/jql``, parse,
    follow ``nextPageToken``: "raw paging", the floor of any client) and then runs a full
    sync into a fresh SQLite store (or ``--backend postgres``), interleaved so that load
    changes hit both alike. Prints both medians and ``ratio`` = sync tickets/s over raw
    tickets/s.
``latency``: the same processes with ``--issues 100000 --latency-ms 150``. Sequential raw
    paging is measured on ``--sample-pages`` pages and extrapolated to the whole walk (the
    first page, which includes the emulator's one query evaluation, counts as measured;
    ``--full-baseline`` pages everything instead); then one full sync. Prints
    ``speedup`` = sequential raw paging seconds over sync seconds, and the sync's vendor
    calls (from ``/_fake/stats``) and concurrency cap (``--max-concurrency``, default the
    setting's 8).
``inprocess``: the emulator in this process (``httpx.ASGITransport``), both backends, as
    measured before the loopback scenario existed.

    .venv/bin/python bench/bench_sync.py [--scenario loopback] [--issues 10000] [--runs 3]
    .venv/bin/python bench/bench_sync.py --scenario latency [--issues 100000 --latency-ms 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from sync_setup import (  # noqa: E402
    SEED_NOW_MS,
    Database,
    EmulatorProcess,
    jira_connection,
    raw_paging,
    settings_for,
)

from ticketbridge.connectors.jira.jql import updated_since_jql  # noqa: E402
from ticketbridge.connectors.jira.mapping import SYNC_FIELDS, SYNC_PROPERTIES  # noqa: E402
from ticketbridge.fakejira import FakeJiraState, SeedSpec  # noqa: E402
from ticketbridge.fakejira import create_app as create_fake_jira  # noqa: E402
from ticketbridge.logging import configure_logging  # noqa: E402
from ticketbridge.runtime import open_runtime  # noqa: E402
from ticketbridge.sync.service import run_sync  # noqa: E402

FULL_JQL = updated_since_jql(None, 0)


async def sync_once(
    backend: str,
    base_url: str,
    issues: int,
    *,
    transport: Any = None,
    emulator: EmulatorProcess | None = None,
    **settings: Any,
) -> dict[str, Any]:
    with Database(backend) as url:
        async with open_runtime(
            settings_for(url, **settings), vendor_transport=transport
        ) as runtime:
            cid = await jira_connection(runtime, base_url)
            vendor_cpu = emulator.cpu_seconds() if emulator else 0.0
            start, cpu = time.perf_counter(), time.process_time()
            result = await run_sync(runtime, cid)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            vendor_cpu = emulator.cpu_seconds() - vendor_cpu if emulator else 0.0
    assert result.tickets >= issues, result
    out = {
        "seconds": round(elapsed, 3),
        "tickets_per_s": round(issues / elapsed, 1),
        "pages": result.pages,
        "cpu_seconds": round(cpu, 2),  # this process: the sync (SQLite's thread included)
    }
    if emulator:
        out["emulator_cpu_seconds"] = round(vendor_cpu, 2)
    return out


async def raw_once(
    base_url: str, issues: int, emulator: EmulatorProcess | None = None
) -> dict[str, Any]:
    vendor_cpu = emulator.cpu_seconds() if emulator else 0.0
    start, cpu = time.perf_counter(), time.process_time()
    found, pages, _ = await raw_paging(base_url, FULL_JQL, list(SYNC_FIELDS), list(SYNC_PROPERTIES))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert found == issues, found
    out = {
        "seconds": round(elapsed, 3),
        "tickets_per_s": round(issues / elapsed, 1),
        "cpu_seconds": round(cpu, 2),
    }
    if emulator:
        out["emulator_cpu_seconds"] = round(emulator.cpu_seconds() - vendor_cpu, 2)
    return out


def search_calls(stats: dict[str, Any]) -> int:
    routes: dict[str, int] = stats.get("requests") or {}
    return sum(n for route, n in routes.items() if route.endswith("/search/jql"))


async def loopback(args: argparse.Namespace) -> dict[str, Any]:
    cap = {"vendor_max_concurrency": args.max_concurrency} if args.max_concurrency else {}
    with EmulatorProcess(args.issues, args.latency_ms) as emulator:
        await raw_once(emulator.base_url, args.issues)  # warm the emulator's caches
        raw, sync = [], []
        for _ in range(args.runs):
            raw.append(await raw_once(emulator.base_url, args.issues, emulator))
            emulator.reset_stats()
            sync.append(
                await sync_once(
                    args.backend, emulator.base_url, args.issues, emulator=emulator, **cap
                )
            )
            stats = emulator.stats()
            sync[-1]["vendor_calls"] = stats.get("total")
            sync[-1]["search_calls"] = search_calls(stats)
    raw_median = statistics.median(r["tickets_per_s"] for r in raw)
    sync_median = statistics.median(r["tickets_per_s"] for r in sync)
    return {
        "scenario": "loopback",
        "issues": args.issues,
        "latency_ms": args.latency_ms,
        "backend": args.backend,
        "raw_paging": {"median_tickets_per_s": raw_median, "runs": raw},
        "sync": {"median_tickets_per_s": sync_median, "runs": sync},
        "ratio": round(sync_median / raw_median, 3),
    }


async def latency(args: argparse.Namespace) -> dict[str, Any]:
    cap = {"vendor_max_concurrency": args.max_concurrency} if args.max_concurrency else {}
    cap_value = args.max_concurrency or settings_for("sqlite://").vendor_max_concurrency
    with EmulatorProcess(args.issues, args.latency_ms) as emulator:
        fields, props = list(SYNC_FIELDS), list(SYNC_PROPERTIES)
        total_pages = -(-args.issues // 100)
        if args.full_baseline:
            start = time.perf_counter()
            await raw_paging(emulator.base_url, FULL_JQL, fields, props)
            sequential = time.perf_counter() - start
            how = "measured"
        else:
            vendor_cpu, cpu = emulator.cpu_seconds(), time.process_time()
            _, _, times = await raw_paging(
                emulator.base_url, FULL_JQL, fields, props, pages=args.sample_pages
            )
            vendor_cpu = (emulator.cpu_seconds() - vendor_cpu) / len(times)
            cpu = (time.process_time() - cpu) / len(times)
            per_page = statistics.median(times[1:])
            sequential = times[0] + per_page * (total_pages - 1)
            how = (
                f"first page {times[0]:.3f} s + median of {len(times) - 1} pages "
                f"({per_page * 1000:.1f} ms) x {total_pages - 1}"
            )
        emulator.reset_stats()
        result = await sync_once(
            args.backend, emulator.base_url, args.issues, emulator=emulator, **cap
        )
        stats = emulator.stats()
    # What the same walk would take with a free core for each process (this machine is
    # shared): sequential paging waits the latency plus the emulator's and the client's CPU
    # per page; the sync is bound by its own CPU, the emulator's, or the latency divided
    # among its concurrent reads, whichever is largest.
    estimate: dict[str, Any] = {}
    if not args.full_baseline:
        latency_s = args.latency_ms / 1000
        sequential_free = total_pages * (latency_s + vendor_cpu + cpu)
        readers = max(1, cap_value - cap_value // 4)
        sync_free = max(
            result["cpu_seconds"],
            result["emulator_cpu_seconds"],
            result["pages"] * latency_s / readers,
        )
        estimate = {
            "emulator_cpu_ms_per_page": round(vendor_cpu * 1000, 1),
            "client_cpu_ms_per_page": round(cpu * 1000, 1),
            "sequential_seconds": round(sequential_free, 1),
            "sync_seconds_lower_bound": round(sync_free, 1),
            "speedup": round(sequential_free / sync_free, 2),
        }
    return {
        "scenario": "latency",
        "issues": args.issues,
        "latency_ms": args.latency_ms,
        "backend": args.backend,
        "max_concurrency": cap_value,
        "sequential_raw_paging": {"seconds": round(sequential, 2), "how": how},
        "sync": {**result, "vendor_calls": stats.get("total"), "search_calls": search_calls(stats)},
        "speedup": round(sequential / result["seconds"], 2),
        "uncontended_estimate": estimate,
    }


async def inprocess(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"scenario": "inprocess", "issues": args.issues, "backends": {}}
    for backend in args.backends.split(","):
        runs = []
        for _ in range(args.runs):
            state = FakeJiraState()
            site = state.site("acme.atlassian.net")
            site.reset(SeedSpec.for_total(args.issues, seed=1, now_ms=SEED_NOW_MS))
            transport = httpx.ASGITransport(app=create_fake_jira(state))
            run = await sync_once(
                backend, "https://acme.atlassian.net", args.issues, transport=transport
            )
            runs.append({**run, "vendor_requests": site.stats.total})
        out["backends"][backend] = {
            "median_tickets_per_s": statistics.median(r["tickets_per_s"] for r in runs),
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "runs": runs,
        }
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["loopback", "latency", "inprocess"])
    parser.add_argument("--issues", type=int)
    parser.add_argument("--latency-ms", type=int)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--backends", default="sqlite,postgres", help="inprocess only")
    parser.add_argument("--max-concurrency", type=int, help="the vendor concurrency cap")
    parser.add_argument("--sample-pages", type=int, default=50)
    parser.add_argument("--full-baseline", action="store_true")
    args = parser.parse_args()
    args.scenario = args.scenario or "loopback"
    big = args.scenario == "latency"
    args.issues = args.issues or (100_000 if big else 10_000)
    args.latency_ms = args.latency_ms if args.latency_ms is not None else (150 if big else 0)
    configure_logging("WARNING")
    run = {"loopback": loopback, "latency": latency, "inprocess": inprocess}[args.scenario]
    print(json.dumps(await run(args), indent=2))


if __name__ == "__main__":
    asyncio.run(main())
