"""Sync memory: a sync streams one page at a time, so 10x more issues should not need ~10x
memory. Measures the tracemalloc peak of a full sync of 2 x 250 and of 2 x 2,500 issues into a
fresh SQLite store and prints JSON: each run's peaks, their ratio, and the median ratio (a
streaming sync stays well under 3; holding every issue would approach 10).

    .venv/bin/python bench/bench_sync_memory.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

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
from ticketbridge.runtime import Runtime, open_runtime
from ticketbridge.store.migrate import upgrade
from ticketbridge.sync.service import run_sync

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
SEED_NOW_MS = 1_750_000_000_000


async def peak_of_sync(runtime: Runtime, state: FakeJiraState, name: str, per_project: int) -> int:
    host = f"{name}.atlassian.net"
    state.site(host).reset(
        SeedSpec(projects=2, issues_per_project=per_project, users=12, seed=4, now_ms=SEED_NOW_MS)
    )
    state.site(host).search.matching_ids("updated >= 0", None)  # the emulator's index, up front
    async with runtime.session() as s:
        key, _ = await create_api_key(s, name="bench", account_name=name)
        org = await create_organization(s, key.account_id, OrganizationCreate(name=name))
        creds = {
            "base_url": f"https://{host}",
            "email": "admin@example.com",
            "api_token": "fake-token",
        }
        conn = await create_connection(
            s,
            runtime.box,
            key.account_id,
            org.id,
            ConnectionCreate(vendor="JIRA", credentials=creds),
            default_refresh_interval=900,
            url_policy=runtime.url_policy,
        )
    gc.collect()
    tracemalloc.start()
    try:
        result = await run_sync(runtime, conn.id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.tickets == 2 * per_project, result
    return peak


async def one_run() -> dict[str, Any]:
    state = FakeJiraState()
    tmp = Path(tempfile.mkdtemp(prefix="tb-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        data_dir=tmp / "data",
        secret_key=SECRET,
        scheduler_enabled=False,
        allow_private_vendor_urls=True,
        log_level="WARNING",
    )
    transport = httpx.ASGITransport(app=create_fake_jira(state))
    async with open_runtime(settings, vendor_transport=transport) as runtime:
        # A first sync pays one-time costs (statement compilation, lazy imports).
        await peak_of_sync(runtime, state, "warmup", 100)
        small = await peak_of_sync(runtime, state, "small", 250)
        large = await peak_of_sync(runtime, state, "large", 2500)
    return {"peak_small": small, "peak_large": large, "ratio": round(large / small, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING")
    runs = [await one_run() for _ in range(args.runs)]
    print(json.dumps({"runs": runs, "median_ratio": statistics.median(r["ratio"] for r in runs)}))


if __name__ == "__main__":
    asyncio.run(main())
