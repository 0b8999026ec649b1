"""Bulk create throughput: 1,000 tickets as 20 concurrent ``POST /v1/itsm/tickets/bulk/sync``
requests of 50, against fakejira answering every call in ``--latency-ms`` (default 100).

Two cases, each in a fresh service + emulator (in-process: the vendor is reached through
``httpx.ASGITransport``, with the emulator's latency fault as the network):

* ``vendor_ids``: ``project_vendor_id`` + ``type_vendor_id`` (``ticket_id`` null in the answer,
  but stored with its identifier: one JQL read-back per request);
* ``stored``: ``project_id`` + ``type`` (UUID forms: created tickets are stored, which adds
  one JQL read-back per request).

Prints JSON: per case, wall time, tickets/s, request latency p50/max, and the vendor calls
per route from the emulator's ``/_fake/stats``. The connection's vendor concurrency is the
default ``TICKETBRIDGE_VENDOR_MAX_CONCURRENCY`` (8), which is what bounds the wall time.

    .venv/bin/python bench/bench_bulk.py [--latency-ms 100] [--requests 20] [--size 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ticketbridge.app import create_app
from ticketbridge.config import Settings
from ticketbridge.fakejira import FakeJiraState
from ticketbridge.fakejira import create_app as create_fake_jira
from ticketbridge.provisioning.service import create_api_key
from ticketbridge.runtime import Runtime
from ticketbridge.store.migrate import upgrade
from ticketbridge.store.models import Project
from ticketbridge.sync.service import run_sync

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
SITE = "https://acme.atlassian.net"


async def tenant(client: httpx.AsyncClient, runtime: Runtime) -> dict[str, str]:
    async with runtime.session() as s:
        _, key = await create_api_key(s, name="bench", account_name="bench")
    headers = {"X-API-KEY": key}
    org = await client.post("/v1/provisioning/organizations", json={"name": "b"}, headers=headers)
    conn = await client.post(
        f"/v1/provisioning/organizations/{org.json()['id']}/connections",
        json={
            "vendor": "JIRA",
            "credentials": {
                "base_url": SITE,
                "email": "admin@example.com",
                "api_token": "fake-token",
            },
        },
        headers=headers,
    )
    return {**headers, "X-CONNECTION-ID": conn.json()["id"]}


async def bodies(case: str, runtime: Runtime, conn_id: str, requests: int, size: int) -> list[Any]:
    if case == "vendor_ids":
        form: dict[str, str] = {"project_vendor_id": "DEMO", "type_vendor_id": "10001"}
    else:
        await run_sync(runtime, uuid.UUID(conn_id), full=True)
        async with runtime.session() as s:
            demo = await s.scalar(select(Project).where(Project.key == "DEMO"))
        assert demo is not None
        form = {"project_id": str(demo.id), "type": "Task"}
    return [
        {"tickets": [{"name": f"bench {r}-{i}", **form} for i in range(size)]}
        for r in range(requests)
    ]


def fresh_database(tmp: str, postgres: str | None) -> str:
    if not postgres:
        return f"sqlite:///{Path(tmp) / 'bench.db'}"
    name = f"tb_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(postgres).set(database=name).render_as_string(False)


def drop_database(url: str, postgres: str | None) -> None:
    if postgres:
        name = make_url(url).database
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run_case(
    case: str, latency_ms: int, requests: int, size: int, postgres: str | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(tmp, postgres)
        try:
            return await _run_case(url, tmp, case, latency_ms, requests, size)
        finally:
            drop_database(url, postgres)


async def _run_case(
    url: str, tmp: str, case: str, latency_ms: int, requests: int, size: int
) -> dict[str, Any]:
    if True:
        upgrade(url)
        settings = Settings(
            database_url=url,
            data_dir=Path(tmp),
            secret_key=SECRET,
            scheduler_enabled=False,
            allow_private_vendor_urls=True,  # fakejira in-process or on loopback
            log_level="WARNING",
        )
        state = FakeJiraState()
        site = state.site("acme.atlassian.net")
        app = create_app(settings, vendor_transport=httpx.ASGITransport(create_fake_jira(state)))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://tb", timeout=120
            ) as client:
                runtime: Runtime = app.state.services.runtime
                headers = await tenant(client, runtime)
                payloads = await bodies(case, runtime, headers["X-CONNECTION-ID"], requests, size)
                site.faults.configure({"latency_ms": latency_ms})
                site.stats.reset()

                async def one(body: Any) -> float:
                    start = time.perf_counter()
                    r = await client.post("/v1/itsm/tickets/bulk/sync", json=body, headers=headers)
                    if r.status_code != 200 or r.json()["failed"]:
                        raise RuntimeError(f"{r.status_code} {r.text[:300]}")
                    return time.perf_counter() - start

                start = time.perf_counter()
                latencies = sorted(await asyncio.gather(*(one(b) for b in payloads)))
                wall = time.perf_counter() - start
        created = requests * size
        assert site.issues_count() == created
        return {
            "tickets": created,
            "requests": requests,
            "wall_s": round(wall, 3),
            "tickets_per_s": round(created / wall, 1),
            "request_p50_s": round(latencies[len(latencies) // 2], 3),
            "request_max_s": round(latencies[-1], 3),
            "vendor_calls": dict(site.stats.routes),
            "vendor_calls_total": site.stats.total,
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument(
        "--postgres",
        default=None,
        help="A PostgreSQL server URL (e.g. postgresql://postgres@127.0.0.1/test) to run on a "
        "fresh database there instead of a SQLite file",
    )
    args = parser.parse_args()
    out: dict[str, Any] = {
        "database": "postgresql" if args.postgres else "sqlite",
        "latency_ms": args.latency_ms,
        "vendor_max_concurrency": Settings().vendor_max_concurrency,
    }
    for case in ("vendor_ids", "stored"):
        out[case] = await run_case(case, args.latency_ms, args.requests, args.size, args.postgres)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
