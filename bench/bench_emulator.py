"""fakejira at scale: seeding 100,000 issues, and walking a JQL search over them.

Moved out of the test suite (a test asserts behaviour, not how long it took). Prints JSON: each
run's seconds and the median, for the seed, the first search page (one JQL evaluation over
every issue) and the remaining pages (slices of the snapshot, no new evaluation).

    .venv/bin/python bench/bench_emulator.py [--issues 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx

from ticketbridge.fakejira import (
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_ADMIN_TOKEN,
    FakeJiraState,
    SeedSpec,
    create_app,
)

START_MS = 1_717_200_000_000
JQL = "project = ACME AND status != Done ORDER BY updated ASC, key ASC"


async def one_run(issues: int) -> dict[str, Any]:
    state = FakeJiraState()
    site = state.site("acme.atlassian.net")
    started = time.perf_counter()
    site.reset(SeedSpec.for_total(issues, now_ms=START_MS))
    seed_s = time.perf_counter() - started
    assert site.issues_count() == issues
    expected = sum(
        1 for i in site.issues.values() if i.key.startswith("ACME-") and i.status_id != "10001"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)),
        base_url="https://acme.atlassian.net",
        auth=(DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_TOKEN),
    ) as client:
        params: dict[str, Any] = {"jql": JQL, "maxResults": 5000}
        started = time.perf_counter()
        first = (await client.get("/rest/api/3/search/jql", params=params)).json()
        first_s = time.perf_counter() - started
        seen, token = len(first["issues"]), first.get("nextPageToken")
        started = time.perf_counter()
        while token:
            page = (
                await client.get(
                    "/rest/api/3/search/jql", params={**params, "nextPageToken": token}
                )
            ).json()
            seen += len(page["issues"])
            token = page.get("nextPageToken")
        rest_s = time.perf_counter() - started
    assert seen == expected, (seen, expected)
    return {
        "seed_s": round(seed_s, 3),
        "first_page_s": round(first_s, 3),
        "rest_s": round(rest_s, 3),
        "matches": seen,
        "evaluations": site.search.evaluations,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = [await one_run(args.issues) for _ in range(args.runs)]
    out = {
        "issues": args.issues,
        "runs": runs,
        **{
            f"median_{k}": statistics.median(r[k] for r in runs)
            for k in ("seed_s", "first_page_s", "rest_s")
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
