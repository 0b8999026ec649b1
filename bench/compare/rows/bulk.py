"""Bulk creates at the high emulator latency (150 ms), ours vs the Python Jira clients.

One ``serve`` (SQLite) and one ``fake-jira`` (a fresh site: the admin and an empty DEMO
project, synced first so that the UUID forms resolve). Ours first, then the clients, so our
read-back searches never run over the clients' issues:

* ``bulk/sync`` with vendor ids, then with UUID fields: N tickets as N/50 concurrent requests;
* the same vendor-id tickets as N/50 async ``bulk`` jobs, timed until every job is SUCCESS;
* ``jira`` (pycontribs): serial ``create_issues(prefetch=False)`` in chunks of 50 with
  ``project`` and ``issuetype`` as ids (no lookups), and a one-by-one ``create_issue`` loop
  (its default ``prefetch=True`` re-reads each issue, as a caller gets it) timed on a sample
  and extrapolated to N;
* ``atlassian-python-api``: serial ``create_issues`` in chunks of 50.

Ours is warmed up first (one small request of each way) and measured in 3 rounds that
interleave the ways; each of our rows is its median round (every round's time is in the
details). Vendor calls come from the emulator's ``/_fake/stats``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
from atlassian import Jira
from jira import JIRA

from ..clients import ADMIN, FakeJiraAdmin, run_sync
from ..plan import Ctx
from ..procs import Procs
from ..stack import sqlite_stack

PROJECT, TASK = "DEMO", "10001"
DONE = {"SUCCESS", "FAILED"}
POLL_SECS = 0.05
ROUNDS = 3


def bulk(ctx: Ctx) -> None:
    s = ctx.scale
    with Procs(ctx.tmp) as procs:
        stack = sqlite_stack(procs, ctx, "bulk")
        admin, url, headers = stack.admin, stack.api_url, stack.headers
        with ctx.step("bulk: sync the catalog"):
            run_sync(url, headers, timeout=120)
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            projects = c.get("/v1/itsm/projects").json()["items"]
        project_id = next(p["id"] for p in projects if p["key"] == PROJECT)
        admin.latency(s.latency_ms)
        sizes = chunks(s.bulk_tickets, s.bulk_chunk)
        vendor = {"project_vendor_id": PROJECT, "type_vendor_id": TASK}
        uuid_form = {"project_id": project_id, "type": "Task"}
        m: dict[str, dict[str, Any]] = {}
        with ctx.step("bulk: warm-up (one small request of each way, not timed)"):
            # A service that has never run a bulk request pays for its first one (imports,
            # compiled statements, pools); a running service has paid already.
            asyncio.run(bulk_sync(url, headers, [5, 5], vendor, "wv"))
            asyncio.run(bulk_sync(url, headers, [5, 5], uuid_form, "wu"))
            asyncio.run(bulk_jobs(url, headers, [5, 5], vendor, "wj"))
        ways: dict[str, Callable[[int], Any]] = {
            "ours_vendor_ids": lambda r: bulk_sync(url, headers, sizes, vendor, f"v{r}"),
            "ours_uuid": lambda r: bulk_sync(url, headers, sizes, uuid_form, f"u{r}"),
            "ours_jobs": lambda r: bulk_jobs(url, headers, sizes, vendor, f"j{r}"),
        }
        rounds: dict[str, list[dict[str, Any]]] = {key: [] for key in ways}
        with ctx.step(f"bulk: ours, {s.bulk_tickets:,} tickets × 3 ways × {ROUNDS} rounds"):
            # Rounds interleave the ways, so drift on a shared machine hits each alike; each
            # way's row is its median round.
            for r in range(ROUNDS):
                for key, way in ways.items():
                    rounds[key].append(measure(admin, partial(run_round, way, r)))
        for key, measured in rounds.items():
            m[key] = median_round(measured)
        with ctx.step("bulk: the jira and atlassian-python-api clients"):
            pyc = JIRA(server=stack.jira_url, basic_auth=ADMIN, options={"check_update": False})
            m["jira_serial"] = measure(admin, lambda: jira_serial(pyc, sizes))
            sample = s.one_by_one_sample
            m["jira_one_by_one"] = measure(admin, lambda: jira_loop(pyc, sample))
            pyc.close()  # type: ignore[no-untyped-call]
            atl = Jira(url=stack.jira_url, username=ADMIN[0], password=ADMIN[1], cloud=True)
            m["atlassian_serial"] = measure(admin, lambda: atlassian_serial(atl, sizes))
            atl.close()
    m["jira_one_by_one"]["extrapolated_s"] = round(
        m["jira_one_by_one"]["seconds"] * s.bulk_tickets / sample, 1
    )
    rows(ctx, m, len(sizes))


def run_round(way: Callable[[int], Any], r: int) -> Any:
    return asyncio.run(way(r))


def median_round(measured: list[dict[str, Any]]) -> dict[str, Any]:
    """The round of median time, with every round's time beside it."""
    ordered = sorted(measured, key=lambda one: one["seconds"])
    return {**ordered[len(ordered) // 2], "rounds_s": [one["seconds"] for one in measured]}


def chunks(total: int, size: int) -> list[int]:
    return [min(size, total - i) for i in range(0, total, size)]


def measure(admin: FakeJiraAdmin, work: Callable[[], Any]) -> dict[str, Any]:
    admin.reset_stats()
    start = time.perf_counter()
    extra = work()
    seconds = time.perf_counter() - start
    stats = admin.stats()
    return {
        "seconds": round(seconds, 3),
        "vendor_calls": stats["requests"],
        "vendor_calls_total": stats["total"],
        "peak_in_flight": stats.get("peak_in_flight"),
        **(extra or {}),
    }


def tickets(size: int, form: dict[str, str], tag: str, chunk: int) -> list[dict[str, Any]]:
    return [{"name": f"bench {tag} {chunk}-{i}", **form} for i in range(size)]


async def bulk_sync(
    url: str, headers: dict[str, str], sizes: list[int], form: dict[str, str], tag: str
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as c:

        async def one(n: int, size: int) -> float:
            start = time.perf_counter()
            body = {"tickets": tickets(size, form, tag, n)}
            r = await c.post("/v1/itsm/tickets/bulk/sync", json=body)
            if r.status_code != 200 or r.json()["failed"]:
                raise RuntimeError(f"bulk/sync: {r.status_code} {r.text[:500]}")
            return time.perf_counter() - start

        latencies = sorted(await asyncio.gather(*(one(n, k) for n, k in enumerate(sizes))))
    return {"request_p50_s": round(latencies[len(latencies) // 2], 3), "requests": len(sizes)}


async def bulk_jobs(
    url: str, headers: dict[str, str], sizes: list[int], form: dict[str, str], tag: str
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as c:

        async def submit(n: int, size: int) -> str:
            r = await c.post("/v1/itsm/tickets/bulk", json={"tickets": tickets(size, form, tag, n)})
            if r.status_code != 202:
                raise RuntimeError(f"bulk: {r.status_code} {r.text[:500]}")
            return str(r.json()["job_id"])

        ids = await asyncio.gather(*(submit(n, k) for n, k in enumerate(sizes)))
        # The compatible API has no push: the client polls its jobs, every POLL_SECS (the
        # newest jobs come first, so one page holds them). A finished job is seen half an
        # interval later on average; bulk/sync's caller learns it from its answer.
        status: dict[str, str] = {}
        polls = 0
        while True:
            polls += 1
            listed = await c.get("/v1/jobs", params={"limit": len(ids)})
            listed.raise_for_status()
            status = {j["id"]: j["status"] for j in listed.json()["items"] if j["id"] in ids}
            if len(status) == len(ids) and set(status.values()) <= DONE:
                break
            await asyncio.sleep(POLL_SECS)
    failed = [j for j, st in status.items() if st != "SUCCESS"]
    if failed:
        raise RuntimeError(f"{len(failed)} bulk jobs did not succeed: {failed[:3]}")
    return {"jobs": len(ids), "polls": polls, "poll_interval_s": POLL_SECS}


def issue_fields(n: int) -> dict[str, Any]:
    return {"project": {"key": PROJECT}, "summary": f"client {n}", "issuetype": {"id": TASK}}


def jira_serial(client: JIRA, sizes: list[int]) -> dict[str, Any]:
    created = 0
    for n, size in enumerate(sizes):
        results = client.create_issues(
            [issue_fields(n * 1000 + i) for i in range(size)], prefetch=False
        )
        created += sum(r["status"] == "Success" for r in results)
    if created != sum(sizes):
        raise RuntimeError(f"jira create_issues created {created} of {sum(sizes)}")
    return {"created": created}


def jira_loop(client: JIRA, sample: int) -> dict[str, Any]:
    for n in range(sample):
        client.create_issue(fields=issue_fields(n))
    return {"sample": sample}


def atlassian_serial(client: Jira, sizes: list[int]) -> dict[str, Any]:
    created = 0
    for n, size in enumerate(sizes):
        result = client.create_issues([{"fields": issue_fields(n * 1000 + i)} for i in range(size)])
        created += len(result["issues"])
    if created != sum(sizes):
        raise RuntimeError(f"atlassian create_issues created {created} of {sum(sizes)}")
    return {"created": created}


def rows(ctx: Ctx, m: dict[str, dict[str, Any]], expected_calls: int) -> None:
    serial = m["jira_serial"]["seconds"]
    loop = m["jira_one_by_one"]["extrapolated_s"]
    atl = m["atlassian_serial"]["seconds"]
    n = ctx.scale.bulk_tickets
    lat = ctx.scale.latency_ms
    for row_id, key, target in (
        ("bulk-vendor-ids", "ours_vendor_ids", 4.0),
        ("bulk-uuid", "ours_uuid", 3.0),
    ):
        ours = m[key]
        speedup = serial / ours["seconds"]
        calls = ours["vendor_calls_total"]
        row = ctx.row(row_id)
        row.value, row.unit = round(speedup, 2), "× jira serial create_issues"
        row.passed = speedup >= target and calls <= expected_calls
        row.details = {"tickets": n, "latency_ms": lat, "expected_calls": expected_calls, **m}
        row.now = (
            f"{ours['seconds']:.2f} s, {calls} vendor calls: {speedup:.1f}× the `jira` client's "
            f"serial `create_issues` ({serial:.2f} s), {loop / ours['seconds']:.0f}× its "
            f"one-by-one loop ({loop:.0f} s), {atl / ours['seconds']:.1f}× "
            f"atlassian-python-api ({atl:.2f} s)"
        )
        row.note = (
            f"{n:,} tickets at {lat} ms; ours: median of {ROUNDS} rounds "
            f"({', '.join(f'{t:.2f}' for t in ours['rounds_s'])} s), after a warm-up; "
            f"one-by-one loop extrapolated from {ctx.scale.one_by_one_sample} creates"
        )
    jobs, sync_s = m["ours_jobs"], m["ours_vendor_ids"]["seconds"]
    ratio = jobs["seconds"] / sync_s
    row = ctx.row("bulk-jobs")
    row.value, row.unit, row.passed = round(ratio, 2), "× bulk/sync", ratio <= 1.3
    row.details = {"tickets": n, "latency_ms": lat, "jobs": jobs, "bulk_sync": m["ours_vendor_ids"]}
    row.now = (
        f"{jobs['seconds']:.2f} s ({ratio:.2f}× `bulk/sync`'s {sync_s:.2f} s), "
        f"{jobs['vendor_calls_total']} vendor calls"
    )
    row.note = (
        f"medians of {ROUNDS} rounds: jobs "
        f"{', '.join(f'{t:.2f}' for t in jobs['rounds_s'])} s, bulk/sync "
        f"{', '.join(f'{t:.2f}' for t in m['ours_vendor_ids']['rounds_s'])} s"
    )
