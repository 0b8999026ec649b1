"""Passthrough overhead: a passthrough call versus the same call made directly to the emulator.

Two set-ups, both measured in one run:

* ``inprocess``: ticketbridge and fakejira in this process, the vendor reached through
  ``httpx.ASGITransport`` (what the tests do): shows our own CPU cost per call.
* ``loopback``: fakejira (``ticketbridge fake-jira``) and ticketbridge (``ticketbridge serve``,
  SQLite) as separate uvicorn processes on 127.0.0.1; the benchmark is the client. Closest
  to a deployment, minus Jira's own latency (add ``--latency-ms`` to simulate it).

Pairs of calls alternate (direct, passthrough, direct, ...) so that drift hits both sides.
Prints JSON: per case, p50/p99 in milliseconds of both, the overhead ratio and the absolute
overhead (passthrough minus direct) at p50 and p99.

    .venv/bin/python bench/bench_passthrough.py [--n 300] [--mode both] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from ticketbridge.app import create_app
from ticketbridge.config import Settings
from ticketbridge.connectors.jira.passthrough_mapping import NORMALIZED_FIELDS
from ticketbridge.fakejira import FakeJiraState, FaultConfig, SeedSpec
from ticketbridge.fakejira import create_app as create_fake_jira
from ticketbridge.provisioning.service import create_api_key
from ticketbridge.store.migrate import upgrade

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
ADMIN = ("admin@example.com", "fake-token")
JQL = "project = ACME ORDER BY id ASC"
LIMIT = 50
Call = Callable[[], Awaitable[httpx.Response]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def timed(call: Call) -> float:
    start = time.perf_counter()
    response = await call()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return elapsed


async def compare(direct: Call, passthrough: Call, n: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        await timed(direct)
        await timed(passthrough)
    d: list[float] = []
    p: list[float] = []
    for _ in range(n):
        d.append(await timed(direct))
        p.append(await timed(passthrough))
    d50, d99, p50, p99 = (
        percentile(d, 0.5),
        percentile(d, 0.99),
        percentile(p, 0.5),
        percentile(p, 0.99),
    )
    return {
        "n": n,
        "direct_ms": {"p50": round(d50, 3), "p99": round(d99, 3)},
        "passthrough_ms": {"p50": round(p50, 3), "p99": round(p99, 3)},
        "overhead_ratio": {"p50": round(p50 / d50, 2), "p99": round(p99 / d99, 2)},
        "overhead_ms": {"p50": round(p50 - d50, 3), "p99": round(p99 - d99, 3)},
    }


def cases(
    jira: httpx.AsyncClient, api: httpx.AsyncClient, headers: dict[str, str]
) -> dict[str, tuple[Call, Call]]:
    search_body = {"jql": JQL, "maxResults": LIMIT, "fields": list(NORMALIZED_FIELDS)}
    return {
        "projects": (
            lambda: jira.get(
                "/rest/api/3/project/search", params={"startAt": 0, "maxResults": LIMIT}
            ),
            lambda: api.get(
                "/v1/itsm/passthrough/projects", params={"limit": LIMIT}, headers=headers
            ),
        ),
        "assignable_users": (
            lambda: jira.get(
                "/rest/api/3/user/assignable/search",
                params={"project": "ACME", "startAt": 0, "maxResults": LIMIT},
            ),
            lambda: api.get(
                "/v1/itsm/passthrough/projects/ACME/assignable-users",
                params={"limit": LIMIT},
                headers=headers,
            ),
        ),
        "search_50_issues": (
            lambda: jira.post("/rest/api/3/search/jql", json=search_body),
            lambda: api.get(
                "/v1/itsm/passthrough/tickets/search",
                params={"jql": JQL, "limit": LIMIT},
                headers=headers,
            ),
        ),
        "search_50_issues_normalized": (
            lambda: jira.post("/rest/api/3/search/jql", json=search_body),
            lambda: api.get(
                "/v1/itsm/passthrough/tickets/search",
                params={"jql": JQL, "limit": LIMIT, "normalized": "true"},
                headers=headers,
            ),
        ),
    }


async def provision(api: httpx.AsyncClient, key: str, jira_url: str) -> dict[str, str]:
    headers = {"X-API-KEY": key}
    r = await api.post("/v1/provisioning/organizations", json={"name": "bench"}, headers=headers)
    r.raise_for_status()
    r = await api.post(
        f"/v1/provisioning/organizations/{r.json()['id']}/connections",
        json={
            "vendor": "JIRA",
            "credentials": {"base_url": jira_url, "email": ADMIN[0], "api_token": ADMIN[1]},
        },
        headers=headers,
    )
    r.raise_for_status()
    return {**headers, "X-CONNECTION-ID": r.json()["id"]}


async def inprocess(n: int, warmup: int, latency_ms: int, tmp: Path) -> dict[str, Any]:
    state = FakeJiraState(faults=FaultConfig(latency_ms=latency_ms))
    state.site("acme.atlassian.net").reset(
        SeedSpec(projects=60, issues_per_project=20, users=80), keep_faults=True
    )
    fake = create_fake_jira(state)
    url = f"sqlite:///{tmp / 'inprocess.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        data_dir=tmp,
        secret_key=SECRET,
        scheduler_enabled=False,
        allow_private_vendor_urls=True,  # fakejira in-process or on loopback
        log_level="WARNING",
    )
    app = create_app(settings, vendor_transport=httpx.ASGITransport(app=fake))
    async with app.router.lifespan_context(app):
        async with app.state.services.runtime.session() as session:
            _, key = await create_api_key(session, name="bench", account_name="bench")
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://tb.bench"
            ) as api,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=fake),
                base_url="https://acme.atlassian.net",
                auth=ADMIN,
            ) as jira,
        ):
            headers = await provision(api, key, "https://acme.atlassian.net")
            return {
                name: await compare(d, p, n, warmup)
                for name, (d, p) in cases(jira, api, headers).items()
            }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def loopback(n: int, warmup: int, latency_ms: int, tmp: Path) -> dict[str, Any]:
    cli = [sys.executable, "-m", "ticketbridge.cli"]
    env = {
        **os.environ,
        "TICKETBRIDGE_DATABASE_URL": f"sqlite:///{tmp / 'loopback.db'}",
        "TICKETBRIDGE_DATA_DIR": str(tmp),
        "TICKETBRIDGE_SECRET_KEY": SECRET,
        "TICKETBRIDGE_SCHEDULER_ENABLED": "false",
        "TICKETBRIDGE_ALLOW_PRIVATE_VENDOR_URLS": "true",
        "TICKETBRIDGE_LOG_LEVEL": "WARNING",
    }
    jira_port, api_port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    *cli,
                    "fake-jira",
                    "--port",
                    str(jira_port),
                    "--seed",
                    "1200",
                    "--latency-ms",
                    str(latency_ms),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        jira_url = f"http://127.0.0.1:{jira_port}"
        wait_until_up(f"{jira_url}/rest/api/3/serverInfo", procs[0])
        key = (
            subprocess.run(
                [*cli, "api-keys", "create", "--name", "bench"],
                env=env,
                check=True,
                capture_output=True,
            )
            .stdout.decode()
            .split()[-1]
        )
        procs.append(
            subprocess.Popen(
                [*cli, "serve", "--port", str(api_port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        api_url = f"http://127.0.0.1:{api_port}"
        wait_until_up(f"{api_url}/healthz", procs[1])
        async with (
            httpx.AsyncClient(base_url=api_url) as api,
            httpx.AsyncClient(base_url=jira_url, auth=ADMIN) as jira,
        ):
            headers = await provision(api, key, jira_url)
            return {
                name: await compare(d, p, n, warmup)
                for name, (d, p) in cases(jira, api, headers).items()
            }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="measured pairs per case")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--mode", choices=["inprocess", "loopback", "both"], default="both")
    parser.add_argument("--latency-ms", type=int, default=0, help="emulated Jira latency")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "benchmark": "passthrough_overhead",
        "limit": LIMIT,
        "jira_latency_ms": args.latency_ms,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if args.mode in ("inprocess", "both"):
            results["inprocess"] = await inprocess(args.n, args.warmup, args.latency_ms, Path(tmp))
        if args.mode in ("loopback", "both"):
            results["loopback"] = await loopback(args.n, args.warmup, args.latency_ms, Path(tmp))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
