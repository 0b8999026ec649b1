"""Sync memory: the peak RSS of a full sync, in a process of its own, at growing sizes.

For each size (``--sizes``, default 10,000, 50,000 and 100,000 issues) a ``ticketbridge
fake-jira`` process on a loopback port is seeded with that many issues, and a child process
runs one full sync of it into a fresh SQLite store (the default vendor concurrency cap, so
the partitioned walk reads concurrently). The child reports its peak resident set size
(``ru_maxrss``) after start-up and set-up, and after the sync: a sync that streams its pages
keeps the second flat as the number of issues grows. Prints JSON.

    .venv/bin/python bench/bench_sync_memory.py [--sizes 10000,50000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from sync_setup import Database, EmulatorProcess, jira_connection, settings_for  # noqa: E402

from ticketbridge.logging import configure_logging  # noqa: E402
from ticketbridge.runtime import open_runtime  # noqa: E402
from ticketbridge.sync.service import run_sync  # noqa: E402


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


async def child(base_url: str, issues: int) -> dict[str, Any]:
    configure_logging("WARNING")
    with Database("sqlite") as url:
        async with open_runtime(settings_for(url)) as runtime:
            cid = await jira_connection(runtime, base_url)
            before = peak_rss_mb()
            start = time.perf_counter()
            result = await run_sync(runtime, cid)
            seconds = time.perf_counter() - start
    assert result.tickets >= issues, result
    return {
        "issues": issues,
        "peak_rss_mb_before_sync": before,
        "peak_rss_mb": peak_rss_mb(),
        "seconds": round(seconds, 1),
        "pages": result.pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # base URL: run one sync here
    parser.add_argument("--issues", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.issues))))
        return
    runs = []
    for size in (int(s) for s in args.sizes.split(",")):
        with EmulatorProcess(size) as emulator:
            out = subprocess.run(
                [sys.executable, __file__, "--child", emulator.base_url, "--issues", str(size)],
                check=True,
                capture_output=True,
                text=True,
            )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({"runs": runs}, indent=2))


if __name__ == "__main__":
    main()
