"""``make bench``: every row of issue 13's table, side by side, in one run.

    .venv/bin/python -m bench.compare [--quick] [--only ROW ...] [--latency MS] [--out DIR]

Rows: see ``--list``. Writes ``<out>/<YYYY-MM-DD>.json``, ``<out>/<YYYY-MM-DD>.md`` and
``<out>/latest.md`` (default ``bench/results``). Exit status 1 when a scenario failed to run
(a row missing its target is not an error: it is the measurement).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import report
from .plan import BY_ID, ROWS, Ctx, scale_for, scenarios_for
from .rows import api, bulk, ingest, load, sync

RUNNERS: dict[str, Callable[[Ctx], None]] = {
    "sync": sync.sync_small,
    "ingest": ingest.ingest,
    "sync-large": sync.sync_large,
    "api": api.api,
    "bulk": bulk.bulk,
    "load": load.load,
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="+", metavar="ROW", help="measure only these rows")
    parser.add_argument(
        "--latency",
        type=int,
        metavar="MS",
        help="emulator latency of the rows measured at 150 ms (sync-100k, bulk-*)",
    )
    parser.add_argument("--out", type=Path, default=report.ROOT / "bench" / "results")
    parser.add_argument("--keep", action="store_true", help="keep the scratch dir (logs, DBs)")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    args = parser.parse_args(argv)
    unknown = [r for r in args.only or () if r not in BY_ID]
    if unknown:
        parser.error(f"unknown rows {unknown}; known: {', '.join(BY_ID)}")
    return args


def main(argv: list[str] | None = None) -> int:
    raw_argv = sys.argv[1:] if argv is None else argv
    args = parse(raw_argv)
    if args.list:
        for spec in ROWS:
            print(f"{spec.id:<22} [{spec.scenario}] {spec.what} — target {spec.target}")
        return 0
    logging.basicConfig(level=logging.WARNING)
    wanted = set(args.only or BY_ID)
    scale = scale_for(args.quick, args.latency)
    started, t0 = dt.datetime.now(dt.UTC), time.perf_counter()
    result: dict[str, Any] = {
        "date": started.date().isoformat(),
        "started_at": started.isoformat(timespec="seconds"),
        "argv": raw_argv,
        "quick": args.quick,
        "scale": scale.__dict__,
        "git": report.git_info(),
        "machine": report.machine(),
    }
    tmp = Path(tempfile.mkdtemp(prefix="tb-bench-compare-"))
    ctx = Ctx(scale=scale, tmp=tmp, wanted=wanted)
    failures: dict[str, str] = {}
    timings: dict[str, dict[str, Any]] = {}
    printed: set[str] = set()
    for name in scenarios_for(wanted):
        print(f"-- {name} (load {report.machine()['loadavg']})", flush=True)
        s0 = time.perf_counter()
        try:
            RUNNERS[name](ctx)
        except Exception as exc:  # one scenario's failure must not lose the others' rows
            failures[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        timings[name] = {
            "seconds": round(time.perf_counter() - s0, 1),
            "loadavg_after": report.machine()["loadavg"],
        }
        for row in ctx.rows.values():
            if row.id in wanted and row.id not in printed:
                printed.add(row.id)
                print(report.console_line(row), flush=True)
    if "sync-rss" in wanted:
        sync.rss_row(ctx)
    rows = []
    for spec in ROWS:
        if spec.id not in wanted:
            continue
        row = ctx.row(spec.id)
        failed = [f"{n}: {failures[n]}" for n in spec.scenario.split("+") if n in failures]
        if failed and row.passed is None and row.value is None:
            row.now = f"not measured (error: {failed[0][:200]})"
        rows.append(report.row_json(row))
    result.update(
        rows=rows,
        scenarios=timings,
        steps=ctx.steps,
        failures=failures,
        seconds=round(time.perf_counter() - t0, 1),
        machine_end=report.machine(),
        scratch=str(tmp) if args.keep else None,
    )
    paths = report.write(result, args.out)
    print()
    print(report.markdown(result))
    print("written: " + ", ".join(str(p) for p in paths))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0
