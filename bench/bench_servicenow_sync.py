"""ServiceNow full syncs: disjoint sys_id slices read concurrently vs one keyset stream.

``ticketbridge fake-servicenow --seed N --latency-ms L`` runs as its own process on a loopback
port; each run is a full sync (catalog, records, reconciliation) of its default instance into
a fresh SQLite store (or ``--backend postgres``) through a new connection, alternating the
stream (``SyncConfig(partitioned=False)``, what every ServiceNow full sync was before) and the
slices (the default), so that load changes hit both alike. Per side, the medians of: wall
seconds, this process's CPU seconds, the emulator's CPU seconds, pages, the incident-table
GETs and the most requests in flight (``/_fake/stats``).

    .venv/bin/python bench/bench_servicenow_sync.py [--records 10000] [--latency-ms 150]
        [--runs 1] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from sync_setup import Database, EmulatorProcess, settings_for  # noqa: E402

from ticketbridge.logging import configure_logging  # noqa: E402
from ticketbridge.provisioning.schemas import ConnectionCreate, OrganizationCreate  # noqa: E402
from ticketbridge.provisioning.service import (  # noqa: E402
    create_api_key,
    create_connection,
    create_organization,
)
from ticketbridge.runtime import Runtime, open_runtime  # noqa: E402
from ticketbridge.sync.run import SyncConfig  # noqa: E402
from ticketbridge.sync.service import run_sync  # noqa: E402

SIDES = {"stream": SyncConfig(partitioned=False), "slices": SyncConfig()}
PAGES_ROUTE = "GET /api/now/table/incident"


async def snow_connection(runtime: Runtime, instance_url: str) -> uuid.UUID:
    async with runtime.session() as s:
        key, _ = await create_api_key(s, name="bench", account_name="bench")
        org = await create_organization(s, key.account_id, OrganizationCreate(name="bench"))
        body = ConnectionCreate(
            vendor="SERVICENOW",
            credentials={
                "instance": instance_url,
                "username": "integration",
                "password": "fake-password",
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
    return conn.id


async def sync_once(
    emulator: EmulatorProcess, backend: str, records: int, config: SyncConfig
) -> dict[str, Any]:
    with Database(backend) as url:
        async with open_runtime(settings_for(url)) as runtime:
            cid = await snow_connection(runtime, emulator.base_url)
            emulator.reset_stats()
            vendor_cpu = emulator.cpu_seconds()
            start, cpu = time.perf_counter(), time.process_time()
            result = await run_sync(runtime, cid, full=True, config=config)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            vendor_cpu = emulator.cpu_seconds() - vendor_cpu
    assert result.tickets >= records, result
    stats = emulator.stats()
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "emulator_cpu_seconds": vendor_cpu,
        "pages": result.pages,
        "incident_gets": stats["requests"].get(PAGES_ROUTE, 0),
        "peak_in_flight": stats.get("peak_in_flight"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    configure_logging("WARNING")
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    with EmulatorProcess(args.records, args.latency_ms, command="fake-servicenow") as emulator:
        for _ in range(args.runs):
            for side, config in SIDES.items():
                runs[side].append(await sync_once(emulator, args.backend, args.records, config))
    out: dict[str, Any] = {"records": args.records, "latency_ms": args.latency_ms}
    for side, results in runs.items():
        out[side] = {
            key: round(statistics.median(r[key] for r in results), 2) for key in results[0]
        }
    out["speedup"] = round(out["stream"]["seconds"] / out["slices"]["seconds"], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
