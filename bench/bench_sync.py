"""Sync throughput: a full sync of a 10,000-issue fakejira site into an empty store.

The emulator runs in this process (``httpx.ASGITransport``), so the figure is ticketbridge's
own cost plus the emulator's rendering, without network latency. Each run gets a fresh
database (a new SQLite file; a new PostgreSQL database, dropped afterwards) and a freshly
seeded site. Prints JSON: per backend, every run's tickets/s and seconds, and the median.

    .venv/bin/python bench/bench_sync.py [--issues 10000] [--runs 3] [--backends sqlite,postgres]

PostgreSQL comes from ``TICKETBRIDGE_BENCH_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``; a database per run is created next to it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from ticketbridge.config import Settings
from ticketbridge.fakejira import FakeJiraState, SeedSpec
from ticketbridge.fakejira import create_app as create_fake_jira
from ticketbridge.logging import configure_logging
from ticketbridge.provisioning.schemas import ConnectionCreate, OrganizationCreate
from ticketbridge.provisioning.service import (
    create_api_key,
    create_connection,
    create_organization,
)
from ticketbridge.runtime import open_runtime
from ticketbridge.store.migrate import upgrade
from ticketbridge.sync.service import run_sync

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
SITE = "https://acme.atlassian.net"
SEED_NOW_MS = 1_750_000_000_000
PG_URL = os.environ.get(
    "TICKETBRIDGE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


class Database:
    """A fresh, migrated database for one run."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.tmp = Path(tempfile.mkdtemp(prefix="tb-bench-"))
        self.pg_name = f"tb_bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp / 'bench.db'}"
        else:
            with psycopg.connect(make_url(PG_URL).render_as_string(False), autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{self.pg_name}"')
            url = make_url(PG_URL).set(database=self.pg_name).render_as_string(False)
        upgrade(url)
        return url

    def __exit__(self, *exc: object) -> None:
        if self.backend == "postgres":
            with psycopg.connect(make_url(PG_URL).render_as_string(False), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


async def one_run(backend: str, issues: int) -> dict[str, Any]:
    state = FakeJiraState()
    site = state.site("acme.atlassian.net")
    site.reset(SeedSpec.for_total(issues, seed=1, now_ms=SEED_NOW_MS))
    with Database(backend) as url:
        settings = Settings(
            database_url=url,
            data_dir=Path(tempfile.mkdtemp(prefix="tb-bench-data-")),
            secret_key=SECRET,
            scheduler_enabled=False,
            allow_private_vendor_urls=True,  # fakejira in-process or on loopback
            log_level="WARNING",
        )
        transport = httpx.ASGITransport(app=create_fake_jira(state))
        async with open_runtime(settings, vendor_transport=transport) as runtime:
            async with runtime.session() as s:
                key, _ = await create_api_key(s, name="bench", account_name="bench")
                org = await create_organization(s, key.account_id, OrganizationCreate(name="o"))
                body = ConnectionCreate(
                    vendor="JIRA",
                    credentials={
                        "base_url": SITE,
                        "email": "admin@example.com",
                        "api_token": "fake-token",
                    },
                )
                conn = await create_connection(
                    s,
                    runtime.box,
                    key.account_id,
                    org.id,
                    body,
                    default_refresh_interval=900,
                    url_policy=runtime.url_policy,
                )
            start = time.perf_counter()
            result = await run_sync(runtime, conn.id)
            elapsed = time.perf_counter() - start
    assert result.tickets == issues, result
    return {
        "seconds": round(elapsed, 3),
        "tickets_per_s": round(issues / elapsed, 1),
        "vendor_requests": site.stats.total,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    configure_logging("WARNING")
    out: dict[str, Any] = {"issues": args.issues, "runs": args.runs, "backends": {}}
    for backend in args.backends.split(","):
        runs = [await one_run(backend, args.issues) for _ in range(args.runs)]
        out["backends"][backend] = {
            "median_tickets_per_s": statistics.median(r["tickets_per_s"] for r in runs),
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "runs": runs,
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
