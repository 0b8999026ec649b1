"""Bulk create at Jira's floor: 1,000 tickets against fakejira answering every call in
``--latency-ms`` (default 150), measured as a user would run it.

Real processes on loopback: ``ticketbridge fake-jira`` and ``ticketbridge serve`` (embedded
mode, SQLite, or a fresh PostgreSQL database with ``--postgres``). Vendor calls are read from
the emulator's ``GET /_fake/stats`` after each case. Rows (each ``--requests`` × ``--size``):

* ``reference``: the ``jira`` client's ``create_issues(prefetch=False)`` called serially, one
  call per chunk of ``--size``, ids given (project key, issue type id) so it makes no lookups;
* ``sync_vendor_ids`` / ``sync_stored``: ``--requests`` concurrent ``POST
  /v1/itsm/tickets/bulk/sync``, with ``project_vendor_id`` + ``type_vendor_id``, and with the
  UUID forms (``project_id`` + ``type`` by name, after a sync of the catalog);
* ``jobs_vendor_ids`` / ``jobs_stored``: the same tickets as ``--requests`` async ``POST
  /v1/itsm/tickets/bulk`` jobs, timed until every job is SUCCESS (one poller asks
  ``GET /v1/jobs?status=SUCCESS&limit=1`` for the count every ``--poll-ms``, 50 by default:
  each poll costs the service ~5 ms of CPU, which a tighter poll takes from the jobs).

Every run goes through all rows (interleaved), ``--runs`` times; the JSON printed holds the
median wall time per row, the median CPU time the service process spent on it (steadier than
wall time on a shared machine), the vendor calls of its last run, and the ratios the targets
are stated in: ``reference / sync`` (higher is better) and ``jobs / sync`` (lower is better).

The service runs whatever ``ticketbridge`` this interpreter imports: to measure another
checkout, put its ``src`` first on ``PYTHONPATH``.

    .venv/bin/python bench/bench_bulk.py [--latency-ms 150] [--runs 3] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from jira import JIRA
from sqlalchemy.engine import make_url

ADMIN = ("admin@example.com", "fake-token")
PROJECT_KEY = "DEMO"
TASK_ID = "10001"  # the emulator's "Task" issue type
ROWS = ("reference", "sync_vendor_ids", "sync_stored", "jobs_vendor_ids", "jobs_stored")
# (name, numerator row, denominator row): the targets' ratios
RATIOS = (
    ("reference_vs_sync_vendor_ids", "reference", "sync_vendor_ids"),
    ("reference_vs_sync_stored", "reference", "sync_stored"),
    ("jobs_vs_sync_vendor_ids", "jobs_vendor_ids", "sync_vendor_ids"),
    ("jobs_vs_sync_stored", "jobs_stored", "sync_stored"),
)


# -- processes ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ticketbridge.cli", *args]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


@contextmanager
def processes(tmp: Path, database_url: str) -> Iterator[tuple[str, str, str, int]]:
    """(emulator URL, service URL, API key, service pid) of fresh processes, killed at the
    end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    env.update(
        TICKETBRIDGE_DATA_DIR=str(tmp / "data"),
        TICKETBRIDGE_DATABASE_URL=database_url,
        TICKETBRIDGE_SCHEDULER_ENABLED="false",
        TICKETBRIDGE_ALLOW_PRIVATE_VENDOR_URLS="true",
        TICKETBRIDGE_LOG_LEVEL="WARNING",
    )
    started: list[subprocess.Popen[bytes]] = []
    try:
        jira_port, api_port = free_port(), free_port()
        for name, args in (
            ("fakejira", ["fake-jira", "--port", str(jira_port)]),
            ("serve", ["serve", "--port", str(api_port)]),
        ):
            with (tmp / f"{name}.log").open("ab") as log:
                started.append(
                    subprocess.Popen(cli(*args), env=env, stdout=log, stderr=subprocess.STDOUT)
                )
        jira_url, api_url = f"http://127.0.0.1:{jira_port}", f"http://127.0.0.1:{api_port}"
        wait_http(f"{jira_url}/_fake/stats")
        wait_http(f"{api_url}/healthz")
        out = subprocess.run(
            cli("api-keys", "create", "--name", "bench"), env=env, capture_output=True, check=True
        )
        yield jira_url, api_url, out.stdout.decode().strip().splitlines()[-1], started[1].pid
    finally:
        for proc in started:
            proc.kill()
            proc.wait(10)


def fresh_database(tmp: Path, postgres: str | None) -> str:
    if not postgres:
        return f"sqlite:///{tmp / 'bench.db'}"
    name = f"tb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(postgres).set(database=name).render_as_string(False)


def drop_database(url: str, postgres: str | None) -> None:
    if postgres:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


# -- setup --------------------------------------------------------------------------------------
async def tenant(api: httpx.AsyncClient, jira_url: str, key: str) -> dict[str, str]:
    """An organization, a connection to the emulator, and its catalog synced (UUID forms)."""
    headers = {"X-API-KEY": key}
    org = await api.post("/v1/provisioning/organizations", json={"name": "b"}, headers=headers)
    org.raise_for_status()
    conn = await api.post(
        f"/v1/provisioning/organizations/{org.json()['id']}/connections",
        json={
            "vendor": "JIRA",
            "credentials": {"base_url": jira_url, "email": ADMIN[0], "api_token": ADMIN[1]},
        },
        headers=headers,
    )
    conn.raise_for_status()
    headers["X-CONNECTION-ID"] = conn.json()["id"]
    (await api.post("/v1/itsm/sync", params={"full": "true"}, headers=headers)).raise_for_status()
    for _ in range(600):
        state = (await api.get("/v1/itsm/sync", headers=headers)).json()
        if not state["running"] and state["status"] != "RUNNING":
            break
        await asyncio.sleep(0.1)
    if state["status"] != "IDLE":
        raise RuntimeError(f"sync did not finish: {state}")
    return headers


async def project_id(api: httpx.AsyncClient, headers: dict[str, str]) -> str:
    projects = (await api.get("/v1/itsm/projects", headers=headers)).json()["items"]
    return str(next(p["id"] for p in projects if p["key"] == PROJECT_KEY))


def bodies(form: dict[str, str], tag: str, requests: int, size: int) -> list[dict[str, Any]]:
    return [
        {"tickets": [{"name": f"bench {tag} {r}-{i}", **form} for i in range(size)]}
        for r in range(requests)
    ]


# -- cases --------------------------------------------------------------------------------------
async def run_sync(api: httpx.AsyncClient, headers: dict[str, str], payloads: list[Any]) -> float:
    async def one(body: Any) -> None:
        r = await api.post("/v1/itsm/tickets/bulk/sync", json=body, headers=headers)
        if r.status_code != 200 or r.json()["failed"]:
            raise RuntimeError(f"{r.status_code} {r.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(one(b) for b in payloads))
    return time.perf_counter() - start


async def count_jobs(api: httpx.AsyncClient, headers: dict[str, str], status: str) -> int:
    r = await api.get("/v1/jobs", params={"status": status, "limit": 1}, headers=headers)
    return int(r.json()["total"])


async def run_jobs(
    api: httpx.AsyncClient, headers: dict[str, str], payloads: list[Any], poll_s: float
) -> float:
    before = await count_jobs(api, headers, "SUCCESS")

    async def submit(body: Any) -> None:
        r = await api.post("/v1/itsm/tickets/bulk", json=body, headers=headers)
        if r.status_code != 202:
            raise RuntimeError(f"{r.status_code} {r.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(submit(b) for b in payloads))
    # One light request per poll: the count of SUCCESS jobs (a FAILED job shows as a wait
    # that never ends, told apart below).
    while await count_jobs(api, headers, "SUCCESS") < before + len(payloads):
        if time.perf_counter() - start > 120:
            failed = await count_jobs(api, headers, "FAILED")
            raise RuntimeError(f"the jobs did not all succeed within 120 s ({failed} FAILED)")
        await asyncio.sleep(poll_s)
    return time.perf_counter() - start


def jira_client(jira_url: str) -> JIRA:
    options = {"rest_api_version": "3", "check_update": False}
    return JIRA(server=jira_url, basic_auth=ADMIN, options=options)


def run_reference(client: JIRA, tag: str, requests: int, size: int) -> float:
    """The ``jira`` client's serial bulk create, one chunk after the other."""
    chunks = [
        [
            {
                "project": {"key": PROJECT_KEY},
                "issuetype": {"id": TASK_ID},
                "summary": f"bench {tag} {r}-{i}",
            }
            for i in range(size)
        ]
        for r in range(requests)
    ]
    start = time.perf_counter()
    for chunk in chunks:
        results = client.create_issues(chunk, prefetch=False)
        if any(x["status"] != "Success" for x in results):
            raise RuntimeError(f"the jira client's bulk create failed: {results[:2]}")
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    jira: httpx.AsyncClient, service_pid: int, run: Callable[[], Any], *, threaded: bool = False
) -> tuple[float, float, dict[str, int]]:
    """(wall time, the service's CPU time, vendor calls) of one run of a row."""
    (await jira.post("/_fake/stats/reset")).raise_for_status()
    cpu = cpu_seconds(service_pid)
    wall = await (asyncio.to_thread(run) if threaded else run())
    cpu = cpu_seconds(service_pid) - cpu
    stats = (await jira.get("/_fake/stats")).json()
    calls = {k: v for k, v in stats["requests"].items() if not k.startswith("GET /_fake")}
    return float(wall), cpu, calls


# -- main ---------------------------------------------------------------------------------------
async def bench(
    args: argparse.Namespace, jira_url: str, api_url: str, key: str, pid: int
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=300, limits=limits) as api,
        httpx.AsyncClient(base_url=jira_url, timeout=30) as jira,
    ):
        headers = await tenant(api, jira_url, key)
        forms = {
            "vendor_ids": {"project_vendor_id": PROJECT_KEY, "type_vendor_id": TASK_ID},
            "stored": {"project_id": await project_id(api, headers), "type": "Task"},
        }
        reference = await asyncio.to_thread(jira_client, jira_url)
        n, size, poll_s = args.requests, args.size, args.poll_ms / 1000
        # Warm-up, not measured: the first request of each kind pays for imports and caches.
        for form in forms.values():
            await run_sync(api, headers, bodies(form, "warm-up", 1, size))
            await run_jobs(api, headers, bodies(form, "warm-up", 1, size), poll_s)
        faults = {"latency_ms": args.latency_ms}
        (await jira.put("/_fake/faults", json=faults)).raise_for_status()
        walls: dict[str, list[float]] = {row: [] for row in args.rows}
        cpus: dict[str, list[float]] = {row: [] for row in args.rows}
        calls: dict[str, dict[str, int]] = {}
        for run in range(args.runs):
            for row in args.rows:
                tag = f"{row} {run}"
                if row == "reference":
                    wall, cpu, used = await measure(
                        jira,
                        pid,
                        lambda t=tag: run_reference(reference, t, n, size),  # type: ignore[misc]
                        threaded=True,
                    )
                else:
                    kind, form = row.split("_", 1)
                    payloads = bodies(forms[form], tag, n, size)
                    if kind == "sync":
                        wall, cpu, used = await measure(
                            jira, pid, lambda p=payloads: run_sync(api, headers, p)
                        )
                    else:
                        wall, cpu, used = await measure(
                            jira, pid, lambda p=payloads: run_jobs(api, headers, p, poll_s)
                        )
                walls[row].append(wall)
                cpus[row].append(cpu)
                calls[row] = used
        reference.close()
    median = {row: statistics.median(w) for row, w in walls.items()}
    rows = {
        row: {
            "median_s": round(median[row], 3),
            "runs_s": [round(w, 3) for w in walls[row]],
            "tickets_per_s": round(n * size / median[row], 1),
            "service_cpu_s": round(statistics.median(cpus[row]), 3),
            "vendor_calls": calls[row],
            "vendor_calls_total": sum(calls[row].values()),
        }
        for row in args.rows
    }
    ratios = {
        name: round(median[a] / median[b], 2)
        for name, a, b in RATIOS
        if a in median and b in median
    }
    return {"rows": rows, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--poll-ms", type=int, default=50, help="job status poll interval")
    parser.add_argument(
        "--rows",
        type=lambda text: [r for r in text.split(",") if r in ROWS],
        default=list(ROWS),
        help=f"comma-separated subset of {', '.join(ROWS)}",
    )
    parser.add_argument(
        "--postgres",
        default=None,
        help="A PostgreSQL server URL (e.g. postgresql://postgres@127.0.0.1/test) to run on a "
        "fresh database there instead of a SQLite file",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(Path(tmp), args.postgres)
        try:
            with processes(Path(tmp), url) as (jira_url, api_url, key, pid):
                result = asyncio.run(bench(args, jira_url, api_url, key, pid))
        finally:
            drop_database(url, args.postgres)
    out = {
        "database": "postgresql" if args.postgres else "sqlite",
        "latency_ms": args.latency_ms,
        "tickets": args.requests * args.size,
        "requests": args.requests,
        "runs": args.runs,
        **result,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
