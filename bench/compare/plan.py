"""The rows of issue 13's table, the scenario that measures each, and the run's sizes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .report import Row


@dataclass(frozen=True)
class RowSpec:
    id: str
    scenario: str
    what: str
    target: str


ROWS: tuple[RowSpec, ...] = (
    RowSpec(
        "sync-10k",
        "sync",
        "full sync of 10,000 issues, emulator at 0 ms, vs raw httpx paging of the same JQL "
        "and fields",
        "≥ 0.7× raw paging",
    ),
    RowSpec(
        "ingest",
        "ingest",
        "our own ingestion (map + ADF + upsert + checkpoint), pages pre-recorded, no HTTP",
        "≥ 5,000 tickets/s SQLite, ≥ 4,000 PostgreSQL",
    ),
    RowSpec(
        "sync-100k",
        "sync-large",
        "full sync of 100,000 issues, emulator at 150 ms per request, vs sequential raw paging",
        "≥ 3× faster than sequential raw paging, within the connection's concurrency cap",
    ),
    RowSpec(
        "sync-rss",
        "sync+sync-large",
        "sync peak RSS (serve process)",
        "< 300 MB at 100k, flat as N grows",
    ),
    RowSpec(
        "create",
        "api",
        "`POST /v1/itsm/tickets` (vendor ids) p50 minus a direct `POST /rest/api/3/issue` p50, "
        "0 ms",
        "< 5 ms",
    ),
    RowSpec(
        "passthrough-projects",
        "api",
        "passthrough projects p50 minus direct `project/search` p50",
        "< 3 ms",
    ),
    RowSpec(
        "passthrough-search",
        "api",
        "passthrough search (50 issues) p50 minus direct `search/jql` p50",
        "< 5 ms",
    ),
    RowSpec(
        "bulk-vendor-ids",
        "bulk",
        "1,000 tickets, `bulk/sync` with vendor ids, 20 concurrent requests, 150 ms, vs the "
        "`jira` client's serial `create_issues`",
        "keep ≥ 4× and ceil(N/50) calls",
    ),
    RowSpec(
        "bulk-uuid",
        "bulk",
        "1,000 tickets, `bulk/sync` with UUID fields (stored), 150 ms",
        "≥ 3× the client's serial bulk, ceil(N/50) calls",
    ),
    RowSpec(
        "bulk-jobs",
        "bulk",
        "1,000 tickets as 20 async `bulk` jobs of 50, 150 ms, until all SUCCESS",
        "≤ 1.3× the `bulk/sync` time for the same tickets",
    ),
    RowSpec("keyset-deep", "api", "deep keyset page vs first page, 1M tickets", "≤ 1.5×"),
    RowSpec(
        "read-floor",
        "api",
        "authenticated read floor: `GET /v1/itsm/tickets/{id}` p50 (vs `/healthz` p50)",
        "< 3 ms",
    ),
    RowSpec(
        "list-5k",
        "api",
        "`GET /v1/itsm/tickets?limit=50`, offset / cursor p50, 5,000 stored",
        "< 10 / < 8 ms",
    ),
    RowSpec(
        "load-sqlite",
        "load",
        "200 concurrent clients for 30 s: 60% reads, 15% cursor pages, 15% passthrough, 10% "
        "creates (emulator at 0 ms), SQLite, 1 API process",
        "≥ 500 requests/s, p99 < 1 s, 0 errors",
    ),
    RowSpec(
        "load-postgres",
        "load",
        "the same load on PostgreSQL, 2 API processes + 1 worker (distributed mode)",
        "≥ 1.8× the SQLite requests/s, p99 < 1 s, 0 errors",
    ),
)
BY_ID = {r.id: r for r in ROWS}
SCENARIOS = ("sync", "ingest", "sync-large", "api", "bulk", "load")


@dataclass(frozen=True)
class Scale:
    """Sizes of one run; :data:`QUICK` shrinks every one for a smoke run."""

    latency_ms: int = 150  # the rows "at 150 ms" (sync-100k, bulk-*)
    sync_issues: int = 10_000
    sync_large_issues: int = 100_000
    raw_sample_pages: int = 10  # sequential raw paging at latency, extrapolated
    sync_timeout_s: float = 300.0  # past it, the large sync is extrapolated from its pace
    create_pairs: int = 150
    projects_pairs: int = 200
    search_pairs: int = 100
    floor_pairs: int = 300
    warmup: int = 10
    list_stored: int = 5_000
    list_walks: int = 2
    keyset_stored: int = 1_000_000
    keyset_pairs: int = 50
    bulk_tickets: int = 1_000
    bulk_chunk: int = 50
    one_by_one_sample: int = 30
    load_clients: int = 200
    load_seconds: float = 30.0
    ingest_timeout_s: float = 300.0
    ingest_args: tuple[str, ...] = ()  # bench_ingest.py's own defaults (10,000 issues, 3 runs)


FULL = Scale()
QUICK = Scale(
    sync_issues=1_000,
    sync_large_issues=2_000,
    raw_sample_pages=3,
    sync_timeout_s=120.0,
    create_pairs=10,
    projects_pairs=10,
    search_pairs=10,
    floor_pairs=20,
    warmup=2,
    list_stored=1_000,
    list_walks=1,
    keyset_stored=20_000,
    keyset_pairs=5,
    bulk_tickets=100,
    one_by_one_sample=3,
    load_clients=20,
    load_seconds=5.0,
    ingest_timeout_s=120.0,
    ingest_args=("--issues", "1000", "--runs", "1"),
)


def scale_for(quick: bool, latency_ms: int | None) -> Scale:
    scale = QUICK if quick else FULL
    return scale if latency_ms is None else replace(scale, latency_ms=latency_ms)


@dataclass
class Ctx:
    """What a scenario gets: the sizes, a scratch directory, the rows wanted, and where it
    leaves its rows and the figures other rows build on (``shared``)."""

    scale: Scale
    tmp: Path
    wanted: set[str]
    rows: dict[str, Row] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Print and record how long a step of a scenario took (set-up included)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = round(time.perf_counter() - start, 1)
            self.steps.append({"step": what, "seconds": seconds})
            print(f"   · {what}: {seconds} s", flush=True)

    def want(self, *row_ids: str) -> bool:
        return any(r in self.wanted for r in row_ids)

    def row(self, row_id: str) -> Row:
        spec = BY_ID[row_id]
        row = self.rows.get(row_id)
        if row is None:
            row = self.rows[row_id] = Row(spec.id, spec.what, spec.target)
        return row


def scenarios_for(row_ids: set[str]) -> list[str]:
    needed: set[str] = set()
    for row_id in row_ids:
        needed.update(BY_ID[row_id].scenario.split("+"))
    return [s for s in SCENARIOS if s in needed]
