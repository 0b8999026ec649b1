"""Cost of one ``GET /metrics`` scrape while the API is busy.

The registry is filled the way a busy deployment fills it (``--routes`` route templates ×
statuses, every vendor endpoint × statuses, job types × outcomes, ``--connections`` connections
with sync and ticket series), then scrapes are timed while ``--load`` concurrent clients keep
calling ``/healthz`` through the same app (same event loop). Three cases, each in one run:

* ``cached``: the database gauges are fresh (the normal scrape);
* ``refresh``: the database gauges are due at every scrape (``METRICS_DB_REFRESH_SECS=0``);
* ``multiprocess``: the same as ``cached`` in a child process with ``PROMETHEUS_MULTIPROC_DIR``
  set and 4 other "processes" having written their files.

Per case, in milliseconds: ``p50_ms``/``p99_ms`` of the whole scrape request under load, as the
client sees it; ``render_*`` of the scrape's own work inside it (``metrics.scrape()``, during
which the event loop serves nothing else), wall and thread CPU time; ``healthz_*`` of a
``/healthz`` sent between two scrapes under the same load (what the load alone costs a
request); ``idle_p50_ms`` of the scrape request before the load starts;
``render_cpu_ms_no_load``, the CPU time of ``metrics.scrape()`` alone. Plus the exposition's
sample lines (``series``) and size. Wall times on a shared machine include time the process
was not scheduled; the CPU columns do not.

To compare with an older commit, run this script with that commit's ``src`` first on the path
(``git archive <commit> src | tar -x -C /tmp/base``, then ``PYTHONPATH=/tmp/base/src``).

    .venv/bin/python bench/bench_metrics.py [--n 100] [--load 4] [--routes 40] [--connections 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def fill_registry(connections: list[str], app: Any, routes: int = 0) -> None:
    from ticketbridge import metrics
    from ticketbridge.connectors.http import VendorCall

    # Synthetic templates: the app's own routers may be mounted lazily, and the count of
    # routes with traffic is the knob that matters.
    for i in range(routes):
        for status in (200, 404, 422):
            metrics.observe_request(f"/v1/itsm/r{i}/{{id}}", "GET", status, 0.01)
    listener = metrics._listener
    for i in range(25):
        for answer in ("200", "404", "429", "503"):
            listener.call(VendorCall("jira", f"/rest/api/3/e{i}/{{id}}", "GET", answer, 0.02))
            listener.retry(VendorCall("jira", f"/rest/api/3/e{i}/{{id}}", "GET", answer, 0.02))
    for job_type in ("bulk.create", "bulk.update"):
        for outcome in ("SUCCESS", "FAILED", "RETRY", "LEASE_LOST"):
            metrics.observe_job(job_type, outcome, 3.0)
    for cid in connections:
        for mode, outcome in (("full", "FAILED"), ("incremental", "SUCCESS")):
            metrics.observe_sync(cid, mode, outcome, 12.0)
    metrics.set_db_gauges(
        {"QUEUED": 3},
        dict.fromkeys(connections, 60.0),
        dict.fromkeys(connections, 1000),
        set(connections),
    )


async def measure(args: argparse.Namespace, refresh_secs: float) -> dict[str, Any]:
    import httpx

    from ticketbridge.app import create_app
    from ticketbridge.config import Settings
    from ticketbridge.store.migrate import upgrade

    data = Path(tempfile.mkdtemp(prefix="tb-bench-metrics-"))
    url = f"sqlite:///{data / 'tb.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        data_dir=data,
        secret_key=SECRET,
        scheduler_enabled=False,
        metrics_db_refresh_secs=refresh_secs,
        log_level="WARNING",
    )
    app = create_app(settings)
    # The same ids in every case and process, as a deployment's connections would be.
    connections = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"c{i}")) for i in range(args.connections)]
    fill_registry(connections, app, args.routes)
    from ticketbridge import metrics

    # The scrape's own work inside each request (the endpoint calls ``metrics.scrape()``):
    # while it runs the event loop serves nothing else. Wall and thread CPU time.
    render_wall: list[float] = []
    render_cpu: list[float] = []
    scrape = metrics.scrape

    def timed_scrape() -> bytes:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return scrape()
        finally:
            render_cpu.append((time.thread_time() - cpu) * 1000)
            render_wall.append((time.perf_counter() - wall) * 1000)

    metrics.scrape = timed_scrape
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tb.bench") as c:
            await c.get("/metrics")  # first refresh outside the timing (cached case)
            stop = asyncio.Event()

            async def load() -> None:
                while not stop.is_set():
                    await c.get("/healthz")
                    await asyncio.sleep(0)  # in-process calls may never suspend otherwise

            idle: list[float] = []
            for _ in range(max(10, args.n // 5)):  # no load: the scrape alone
                start = time.perf_counter()
                await c.get("/metrics")
                idle.append((time.perf_counter() - start) * 1000)
            loaders = [asyncio.create_task(load()) for _ in range(args.load)]
            render_wall.clear()
            render_cpu.clear()
            timings: list[float] = []
            floor: list[float] = []
            body = b""
            for _ in range(args.n):
                start = time.perf_counter()
                r = await c.get("/metrics")
                timings.append((time.perf_counter() - start) * 1000)
                body = r.content
                await asyncio.sleep(0)
                # The same load's cost to any request: a /healthz between two scrapes.
                start = time.perf_counter()
                await c.get("/healthz")
                floor.append((time.perf_counter() - start) * 1000)
                await asyncio.sleep(0)
            stop.set()
            await asyncio.gather(*loaders)
    metrics.scrape = scrape

    metrics.scrape()  # after the app stopped, outside the timing
    cpu = time.process_time()
    for _ in range(20):
        metrics.scrape()
    render_cpu_ms = (time.process_time() - cpu) / 20 * 1000
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    return {
        "p50_ms": round(percentile(timings, 0.5), 2),
        "p99_ms": round(percentile(timings, 0.99), 2),
        "render_p50_ms": round(percentile(render_wall, 0.5), 2),
        "render_p99_ms": round(percentile(render_wall, 0.99), 2),
        "render_cpu_p50_ms": round(percentile(render_cpu, 0.5), 2),
        "render_cpu_p99_ms": round(percentile(render_cpu, 0.99), 2),
        "healthz_p50_ms": round(percentile(floor, 0.5), 2),
        "healthz_p99_ms": round(percentile(floor, 0.99), 2),
        "idle_p50_ms": round(percentile(idle, 0.5), 2),
        "render_cpu_ms_no_load": round(render_cpu_ms, 2),
        "series": series,
        "bytes": len(body),
    }


def child(args: argparse.Namespace) -> None:
    """Multiprocess case: 4 sibling "processes" wrote files, this one scrapes them all."""
    from ticketbridge import metrics  # noqa: F401 (values class chosen at import)

    result = asyncio.run(measure(args, 15.0))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--load", type=int, default=4)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--routes", type=int, default=40, help="route templates with traffic")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    out: dict[str, Any] = {
        "n": args.n,
        "load": args.load,
        "connections": args.connections,
        "routes": args.routes,
    }
    out["cached"] = asyncio.run(measure(args, 15.0))
    out["refresh"] = asyncio.run(measure(args, 0.0))
    with tempfile.TemporaryDirectory(prefix="tb-prom-") as mpdir:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": mpdir}
        argv = [
            sys.executable,
            __file__,
            "--child",
            "--n",
            str(args.n),
            "--load",
            str(args.load),
            "--connections",
            str(args.connections),
            "--routes",
            str(args.routes),
        ]
        for _ in range(4):  # sibling workers: each leaves its own files behind
            sibling = [*argv[:3], "--n", "1", "--load", "0", *argv[-4:]]
            subprocess.run(sibling, env=env, check=True, capture_output=True)
        done = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
        out["multiprocess"] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
