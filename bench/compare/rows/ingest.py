"""Ingestion without HTTP: delegated to ``bench/bench_ingest.py`` when the project has it.

That script (map + ADF + upsert + checkpoint over pre-recorded pages) prints JSON; this row
reads a tickets/s figure per backend from it: the first number under a key containing
``tickets_per_s`` (``median_tickets_per_s`` first) inside an object whose key path names
``sqlite`` or ``postgres``. ``--quick`` passes ``--issues 1000 --runs 1``. Without the script,
the row says "not measured".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..plan import Ctx
from ..report import ROOT

SCRIPT = ROOT / "bench" / "bench_ingest.py"
TARGETS = {"sqlite": 5_000.0, "postgres": 4_000.0}


def rate_for(data: Any, backend: str, path: tuple[str, ...] = ()) -> float | None:
    """The tickets/s figure of ``backend`` anywhere in ``data`` (see the module docstring)."""
    if isinstance(data, dict):
        if any(backend in p.lower() for p in path):
            for key in sorted(data, key=lambda k: not str(k).startswith("median")):
                value = data[key]
                if "tickets_per_s" in str(key) and isinstance(value, int | float):
                    return float(value)
        for key, value in data.items():
            found = rate_for(value, backend, (*path, str(key)))
            if found is not None:
                return found
    return None


def ingest(ctx: Ctx, script: Path = SCRIPT) -> None:
    row = ctx.row("ingest")
    if not script.exists():
        row.now = "not measured (bench/bench_ingest.py is not in this checkout)"
        return
    try:
        done = subprocess.run(
            [sys.executable, str(script), *ctx.scale.ingest_args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=ctx.scale.ingest_timeout_s,
        )
    except subprocess.TimeoutExpired:
        row.now = f"not measured (bench_ingest.py ran over {ctx.scale.ingest_timeout_s:.0f} s)"
        return
    if done.returncode != 0:
        row.now = f"not measured (bench_ingest.py exited {done.returncode})"
        row.details = {"stderr": done.stderr[-2000:]}
        return
    start = done.stdout.find("{")
    data = json.loads(done.stdout[start:]) if start >= 0 else {}
    rates = {b: rate_for(data, b) for b in TARGETS}
    row.details = {"output": data, "tickets_per_s": rates}
    measured = {b: r for b, r in rates.items() if r is not None}
    if not measured:
        row.now = "not measured (no tickets/s figure in bench_ingest.py's output)"
        return
    row.value, row.unit = measured.get("sqlite"), "tickets/s (SQLite)"
    row.passed = len(measured) == len(TARGETS) and all(measured[b] >= TARGETS[b] for b in measured)
    row.now = ", ".join(
        f"{b}: {rates[b]:,.0f} tickets/s" if rates[b] is not None else f"{b}: not measured"
        for b in TARGETS
    )
