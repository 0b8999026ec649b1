"""fakeservicenow at scale: seeding N incidents, a keyset sync page and a sys_id list over them.

Prints JSON: each run's seconds and the median, for the seed, a sync-shaped page
(``sys_updated_on>=X^ORDERBYsys_updated_on^ORDERBYsys_id``, 100 rows) and the deletion
reconcile's ``sysparm_fields=sys_id`` list of every incident, read as the ``itil``
integration user, in-process.

    .venv/bin/python bench/bench_servicenow_emulator.py [--incidents 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx

from ticketbridge.fakeservicenow import (
    DEFAULT_INTEGRATION_USER,
    DEFAULT_PASSWORD,
    FakeServiceNowState,
    SeedSpec,
    create_app,
)

NOW_MS = 1_717_200_000_000
PAGE = {
    "sysparm_query": "sys_updated_on>=2024-05-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id",
    "sysparm_limit": "100",
    "sysparm_exclude_reference_link": "true",
}
IDS = {"sysparm_fields": "sys_id", "sysparm_limit": "100000"}


async def measure(incidents: int, runs: int) -> dict[str, Any]:
    started = time.perf_counter()
    state = FakeServiceNowState(
        seed=SeedSpec(incidents=incidents, users=50, groups=8, now_ms=NOW_MS)
    )
    instance = state.default
    seed_s = time.perf_counter() - started
    assert instance.count("incident") == incidents
    out: dict[str, Any] = {"incidents": incidents, "seed_s": round(seed_s, 3)}
    transport = httpx.ASGITransport(app=create_app(state))
    auth = (DEFAULT_INTEGRATION_USER, DEFAULT_PASSWORD)
    async with httpx.AsyncClient(transport=transport, base_url="https://x", auth=auth) as c:
        for name, params in (("sync_page", PAGE), ("sys_id_list", IDS)):
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                response = await c.get("/api/now/table/incident", params=params)
                times.append(time.perf_counter() - began)
                assert response.status_code == 200
            out[name] = {
                "runs_s": [round(t, 4) for t in times],
                "median_s": round(statistics.median(times), 4),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.incidents, args.runs)), indent=2))


if __name__ == "__main__":
    main()
