"""The distributed vendor-slot limiter under contention, without HTTP.

Two ``PgSlotLimiter`` (two "processes", each with its own pool) share one connection's
slots; ``--callers`` tasks split between them make ``--calls`` calls in all, each holding a
slot ``--hold-ms`` (a vendor call at ~0 ms latency on a busy loop). Prints wall time (and the
ideal, calls × hold / slots), this process's CPU per call and the wait for a slot (p50,
p99), as JSON. Run it with each checkout's interpreter from that checkout to compare::

    (cd /work/main && .venv/bin/python /path/to/bench/bench_slots.py)
    .venv/bin/python bench/bench_slots.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.getcwd(), "src"))  # the checkout it is run from

from ticketbridge.jobs.limiter import PgSlotLimiter, open_slot_pool  # noqa: E402


async def run(url: str, callers: int, calls: int, hold: float, slots: int) -> dict[str, float]:
    connection_id = str(uuid.uuid4())
    waits: list[float] = []
    left = calls
    async with open_slot_pool(url, 32) as pool_a, open_slot_pool(url, 32) as pool_b:
        limiters = [PgSlotLimiter(p, connection_id, slots) for p in (pool_a, pool_b)]

        async def caller(limiter: PgSlotLimiter) -> None:
            nonlocal left
            while left > 0:
                left -= 1
                start = time.perf_counter()
                async with limiter:
                    waits.append(time.perf_counter() - start)
                    await asyncio.sleep(hold)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(caller(limiters[i % 2]) for i in range(callers)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    waits.sort()
    return {
        "calls": calls,
        "wall_s": round(wall, 2),
        "ideal_s": round(calls * hold / slots, 2),
        "cpu_ms_per_call": round(1000 * cpu / calls, 3),
        "wait_p50_ms": round(1000 * waits[len(waits) // 2], 1),
        "wait_p99_ms": round(1000 * waits[int(len(waits) * 0.99)], 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--callers", type=int, default=60)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--hold-ms", type=float, default=5.0)
    parser.add_argument("--slots", type=int, default=8)
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.callers, args.calls, args.hold_ms / 1000, args.slots))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
