"""Ingestion throughput without HTTP: pre-recorded Jira search pages through our own path.

What is timed is exactly the sync's per-page work after the bytes have arrived: decoding the
body (``connectors.http.decode_json``), mapping every issue (ADF -> Markdown included;
``SyncOps.issues_from_search``), and writing the page (its people, its tickets and the
checkpoint, one transaction: ``sync.tickets.PageWriter``). By default the pages go through
the sync's own ticket walk (``sync.tickets.sync_tickets``, one ordered stream), whose reader
decodes and maps the next page while the writer stores the last one, as in a real run; only
the vendor read is replaced by the recorded body. ``--sequential`` times the same steps one
after the other in a plain loop instead (no overlap). The pages are recorded once from
an in-process emulator seeded with ``--issues`` issues, with the sync's own fields and
properties; the catalog (projects, issue types, users) is synced before the clock starts, as
a real run does. Each run gets a fresh database. Prints JSON: per backend, each run's
tickets/s (wall) and tickets per CPU second of this process, and their medians.

    .venv/bin/python bench/bench_ingest.py [--issues 10000] [--runs 3] [--backends sqlite,postgres]
        [--sequential]
    .venv/bin/python bench/bench_ingest.py --profile bench/profiles/ingest.txt  # pyinstrument

``--overlap`` adds, per run, how the helper's work and the writes overlapped: the wall time
of the helper calls (request sent to answer read: the helper busy, plus its pipe) and of
the page writes (``PageWriter.store``: the event loop and SQLite's thread), their sums, the
time both were under way, and how close the run came to the larger of the two rather than
their sum.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from sync_setup import SEED_NOW_MS, Database, jira_connection, settings_for  # noqa: E402

from ticketbridge.connectors import for_connection  # noqa: E402
from ticketbridge.connectors.http import decode_json  # noqa: E402
from ticketbridge.connectors.jira.connector import JiraConnector  # noqa: E402
from ticketbridge.connectors.jira.jql import updated_since_jql  # noqa: E402
from ticketbridge.connectors.jira.mapping import SYNC_FIELDS, SYNC_PROPERTIES  # noqa: E402
from ticketbridge.fakejira import FakeJiraState, SeedSpec  # noqa: E402
from ticketbridge.fakejira import create_app as create_fake_jira  # noqa: E402
from ticketbridge.logging import configure_logging  # noqa: E402
from ticketbridge.offload import Offload  # noqa: E402
from ticketbridge.runtime import open_runtime  # noqa: E402
from ticketbridge.sync.catalog import sync_catalog  # noqa: E402
from ticketbridge.sync.repository import SyncRepository  # noqa: E402
from ticketbridge.sync.run import RunState, SyncConfig, default_owner  # noqa: E402
from ticketbridge.sync.service import start_run  # noqa: E402
from ticketbridge.sync.tickets import PageWriter, release_page_garbage, sync_tickets  # noqa: E402

SITE = "https://acme.atlassian.net"


async def record(state: FakeJiraState) -> list[bytes]:
    """Every page of a full sync's search, as the emulator sends them."""
    transport = httpx.ASGITransport(app=create_fake_jira(state))
    pages: list[bytes] = []
    auth = ("admin@example.com", "fake-token")
    async with httpx.AsyncClient(transport=transport, base_url=SITE, auth=auth) as client:
        token = None
        while True:
            body: dict[str, Any] = {
                "jql": updated_since_jql(None, 0),
                "maxResults": 100,
                "fields": list(SYNC_FIELDS),
                "properties": list(SYNC_PROPERTIES),
            }
            if token:
                body["nextPageToken"] = token
            response = await client.post("/rest/api/3/search/jql", json=body)
            response.raise_for_status()
            pages.append(response.content)
            token = response.json().get("nextPageToken")
            if not token:
                return pages


def replay(connector: JiraConnector, pages: list[bytes]) -> None:
    """Serve the recorded pages, in order, as the connector's search reads (decoded here or,
    with the helper process on, there: ``sync_map_in_worker``)."""
    bodies = iter(pages)

    async def search_jql(jql: str, **_: Any) -> dict[str, Any]:
        return decode_json(next(bodies))  # type: ignore[no-any-return]

    async def search_jql_raw(jql: str, **_: Any) -> bytes:
        return next(bodies)

    connector.client.search_jql = search_jql  # type: ignore[method-assign]
    connector.client.search_jql_raw = search_jql_raw  # type: ignore[method-assign]


class Spans:
    """Wall-time intervals of one kind of work (``--overlap``)."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []

    def wrap(self, fn: Any) -> Any:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.spans.append((start, time.perf_counter()))

        return timed

    def total(self) -> float:
        return sum(b - a for a, b in self.spans)

    def together(self, other: Spans) -> float:
        """Time during which a span of each was under way."""
        both, i, j = 0.0, 0, 0
        mine, theirs = sorted(self.spans), sorted(other.spans)
        while i < len(mine) and j < len(theirs):
            (a0, a1), (b0, b1) = mine[i], theirs[j]
            both += max(0.0, min(a1, b1) - max(a0, b0))
            if a1 < b1:
                i += 1
            else:
                j += 1
        return both


def overlap_report(helper: Spans, writes: Spans, elapsed: float) -> dict[str, Any]:
    h, w = helper.total(), writes.total()
    return {
        "helper_calls": len(helper.spans),
        "helper_busy_s": round(h, 3),
        "writes_busy_s": round(w, 3),
        "both_busy_s": round(helper.together(writes), 3),
        "elapsed_s": round(elapsed, 3),
        # 1.0: the run took the larger of the two (full overlap); 0.0: their sum.
        "overlap_score": round((h + w - elapsed) / min(h, w), 2) if min(h, w) else None,
    }


def helper_cpu(offload: Offload | None) -> float:
    """CPU seconds of the helper process so far (utime + stime from /proc)."""
    total = 0.0
    for pid in offload.worker_pids() if offload is not None else ():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def helper_peak_rss_mb(offload: Offload | None) -> float:
    """Peak resident memory of the helper process (VmHWM), MB."""
    peak = 0
    for pid in offload.worker_pids() if offload is not None else ():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return round(peak / 1024, 1)


async def one_run(
    backend: str,
    fake: FakeJiraState,
    pages: list[bytes],
    issues: int,
    profile: str | None,
    sequential: bool = False,
    in_process: bool = False,
    overlap: bool = False,
) -> dict[str, Any]:
    with Database(backend) as url:
        settings = settings_for(url, sync_map_in_worker=not in_process)
        transport = httpx.ASGITransport(app=create_fake_jira(fake))
        async with open_runtime(settings, vendor_transport=transport) as runtime:
            cid = await jira_connection(runtime, SITE)
            # One ordered stream: the recorded pages are the full sync's unsliced search.
            config = SyncConfig(partitioned=False)
            state = RunState(runtime, cid, default_owner(), config, None)
            await start_run(state, full=True)
            async with runtime.session() as s:
                conn = await SyncRepository(s).connection(cid)
                assert conn is not None
                connector = for_connection(conn, runtime)
            assert isinstance(connector, JiraConnector)
            if runtime.offload is not None:
                runtime.offload.start()  # as a full sync does before its catalog phase
            await sync_catalog(runtime, connector, cid)
            if runtime.offload is not None:  # and started before the clock, as in serve
                await runtime.offload.run(int)
            state.run["phase"] = "tickets"
            profiler = None
            if profile:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled", interval=0.0005)
                profiler.start()
            helper_spans, write_spans = Spans(), Spans()
            store = PageWriter.store
            if overlap:
                if runtime.offload is not None:
                    runtime.offload.run = helper_spans.wrap(runtime.offload.run)  # type: ignore[method-assign]
                PageWriter.store = write_spans.wrap(store)  # type: ignore[method-assign]
            helper = helper_cpu(runtime.offload)
            start, cpu = time.perf_counter(), time.process_time()
            if sequential:
                writer = PageWriter(state)
                for n, raw in enumerate(pages):
                    batch, _ = connector.issues_from_search(decode_json(raw))
                    await writer.store_page(batch, n == len(pages) - 1)
                    del batch
                    release_page_garbage()
            else:
                replay(connector, pages)
                await sync_tickets(state, connector, None, estimate_total=False)
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu
            PageWriter.store = store  # type: ignore[method-assign]
            helper = helper_cpu(runtime.offload) - helper
            helper_rss = helper_peak_rss_mb(runtime.offload)
            if profiler is not None and profile:
                profiler.stop()
                Path(profile).write_text(
                    profiler.output_text(unicode=False, color=False, show_all=False)
                )
            assert state.run["tickets"] == issues, state.run
    return {
        "seconds": round(elapsed, 3),
        "tickets_per_s": round(issues / elapsed, 1),
        # This process's CPU (its threads included, the PostgreSQL server not): steadier
        # than wall time on a shared machine.
        "cpu_seconds": round(cpu, 3),
        "tickets_per_cpu_s": round(issues / cpu, 1),
        # The helper process's CPU (sync_map_in_worker): decoding and mapping.
        "helper_cpu_seconds": round(helper, 3),
        "helper_peak_rss_mb": helper_rss,
        **({"overlap": overlap_report(helper_spans, write_spans, elapsed)} if overlap else {}),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--profile", help="write a pyinstrument profile of one SQLite run here")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="decode, map and write each page one after the other (no reader/writer overlap)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="decode and map in this process (sync_map_in_worker off), not the helper",
    )
    parser.add_argument(
        "--overlap",
        action="store_true",
        help="per run: how the helper's calls and the page writes overlapped (wall time)",
    )
    args = parser.parse_args()
    configure_logging("WARNING")
    fake = FakeJiraState()
    fake.site("acme.atlassian.net").reset(
        SeedSpec.for_total(args.issues, seed=1, now_ms=SEED_NOW_MS)
    )
    pages = await record(fake)
    out: dict[str, Any] = {
        "issues": args.issues,
        "pages": len(pages),
        "mode": "sequential" if args.sequential else "pipelined",
        "backends": {},
    }
    if args.profile:
        out["profile"] = await one_run(
            "sqlite", fake, pages, args.issues, args.profile, args.sequential, args.in_process
        )
        print(json.dumps(out, indent=2))
        return
    backends = args.backends.split(",")
    runs: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
    for _ in range(args.runs):  # interleaved, so load changes hit every backend alike
        for backend in backends:
            runs[backend].append(
                await one_run(
                    backend,
                    fake,
                    pages,
                    args.issues,
                    None,
                    args.sequential,
                    args.in_process,
                    args.overlap,
                )
            )
    for backend in backends:
        out["backends"][backend] = {
            "median_tickets_per_s": statistics.median(r["tickets_per_s"] for r in runs[backend]),
            "median_tickets_per_cpu_s": statistics.median(
                r["tickets_per_cpu_s"] for r in runs[backend]
            ),
            "runs": runs[backend],
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
