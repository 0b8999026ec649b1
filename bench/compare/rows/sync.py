"""Full syncs through a real ``serve`` process against a real ``fake-jira`` process.

* ``sync``: N issues (10,000), emulator at 0 ms; the competitor is sequential raw httpx paging
  of the same JQL, fields and properties as our sync (measured before and after ours).
* ``sync-large``: N issues (100,000), emulator at the high latency (150 ms); sequential raw
  paging is measured on its first pages and extrapolated to every page.

Both sample the ``serve`` process's RSS (``/proc``) during the sync for ``sync-rss``.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from typing import Any

import httpx

from ticketbridge.config import Settings
from ticketbridge.connectors.jira.jql import updated_since_jql
from ticketbridge.connectors.jira.mapping import SYNC_FIELDS, SYNC_PROPERTIES
from ticketbridge.connectors.jira.sync_ops import ISSUE_PAGE

from ..clients import ADMIN, SEARCH, run_sync
from ..plan import Ctx
from ..procs import Procs, peak_rss_mb, rss_mb
from ..stack import sqlite_stack

FULL_SYNC_JQL = updated_since_jql(None, 0)  # what a first (full) sync asks for


class RssSampler:
    """Samples a process's RSS every ``every`` seconds in a thread, keeping the maximum."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every = pid, every
        self.idle_mb = rss_mb(pid)
        self.max_mb = self.idle_mb or 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            value = rss_mb(self.pid)
            if value is not None:
                self.max_mb = max(self.max_mb, value)
                self.samples += 1

    def result(self) -> dict[str, Any]:
        return {
            "idle_mb": self.idle_mb,
            "max_sampled_mb": self.max_mb,
            "peak_mb": peak_rss_mb(self.pid),  # VmHWM: the true peak over the process's life
            "samples": self.samples,
        }


def raw_paging(jira_url: str, max_pages: int | None = None) -> dict[str, Any]:
    """Page through the full-sync JQL as a plain script would: sequential ``search/jql``
    calls with the sync's fields and properties, each body parsed."""
    base: dict[str, Any] = {
        "jql": FULL_SYNC_JQL,
        "maxResults": ISSUE_PAGE,
        "fields": list(SYNC_FIELDS),
        "properties": list(SYNC_PROPERTIES),
    }
    page_s: list[float] = []
    issues = 0
    token: str | None = None
    with httpx.Client(base_url=jira_url, auth=ADMIN, timeout=300) as c:
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            r = c.post(
                "/rest/api/3/search/jql", json={**base, "nextPageToken": token} if token else base
            )
            r.raise_for_status()
            data = r.json()
            page_s.append(time.perf_counter() - t0)
            issues += len(data["issues"])
            token = data.get("nextPageToken")
            if not token or (max_pages is not None and len(page_s) >= max_pages):
                break
        seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "pages": len(page_s), "issues": issues, "page_s": page_s}


def warm_search(jira_url: str) -> None:
    """The emulator builds its search documents on the first search; neither side pays that."""
    with httpx.Client(base_url=jira_url, auth=ADMIN, timeout=300) as c:
        c.post(
            "/rest/api/3/search/jql", json={"jql": FULL_SYNC_JQL, "maxResults": 1}
        ).raise_for_status()


def sync_small(ctx: Ctx) -> None:
    s, n = ctx.scale, ctx.scale.sync_issues
    with Procs(ctx.tmp) as procs:
        stack = sqlite_stack(procs, ctx, "sync", {"issues": n, "seed": 1})
        admin = stack.admin
        warm_search(stack.jira_url)
        with ctx.step(f"sync: raw paging of {n:,} issues"):
            raw = [raw_paging(stack.jira_url)]
        admin.reset_stats()
        with ctx.step(f"sync: our full sync of {n:,} issues"), RssSampler(stack.api.pid) as rss:
            ours = run_sync(stack.api_url, stack.headers, timeout=s.sync_timeout_s)
        memory = rss.result()  # while the process lives (its VmHWM)
        stats = admin.stats()
        with ctx.step(f"sync: raw paging of {n:,} issues again"):
            raw.append(raw_paging(stack.jira_url))
    ctx.shared.setdefault("rss", {})["small"] = {"issues": n, **memory}
    raw_rate = statistics.median(r["issues"] / r["seconds"] for r in raw)
    row = ctx.row("sync-10k")
    details = {
        "issues": n,
        "ours_seconds": round(ours["seconds"], 2),
        "ours_timed_out": ours["timed_out"],
        "ours_counts": ours["state"].get("counts"),
        "raw_runs": [{k: v for k, v in r.items() if k != "page_s"} for r in raw],
        "raw_tickets_per_s": round(raw_rate, 1),
        "vendor_calls": stats["requests"],
        "vendor_calls_total": stats["total"],
        "peak_in_flight": stats.get("peak_in_flight"),
    }
    if ours["timed_out"]:
        row.now, row.details = f"timed out after {s.sync_timeout_s:.0f} s", details
        row.passed = False
        return
    rate = n / ours["seconds"]
    ratio = rate / raw_rate
    details["ours_tickets_per_s"] = round(rate, 1)
    row.value, row.unit, row.details = round(ratio, 3), "× raw paging", details
    row.passed = ratio >= 0.7
    row.now = (
        f"{rate:,.0f} tickets/s = {ratio:.2f}× raw paging ({raw_rate:,.0f}/s); {n:,} issues in "
        f"{ours['seconds']:.1f} s, {stats['total']} vendor calls"
    )


def sync_large(ctx: Ctx) -> None:
    s, n = ctx.scale, ctx.scale.sync_large_issues
    # serve runs with the default (service_env passes no TICKETBRIDGE_VENDOR_MAX_CONCURRENCY)
    cap = Settings.model_fields["vendor_max_concurrency"].default
    with Procs(ctx.tmp) as procs:
        stack = sqlite_stack(procs, ctx, "sync-large", {"issues": n, "seed": 1})
        admin = stack.admin
        warm_search(stack.jira_url)
        admin.latency(s.latency_ms)
        with ctx.step(f"sync-large: {s.raw_sample_pages + 1} pages of raw paging"):
            sample = raw_paging(stack.jira_url, max_pages=s.raw_sample_pages + 1)
        admin.reset_stats()
        pages_seen: list[int] = []

        def progress() -> None:
            pages_seen[:] = [admin.calls().get(SEARCH, 0)]

        with (
            ctx.step(f"sync-large: our full sync of {n:,} issues at {s.latency_ms} ms"),
            RssSampler(stack.api.pid) as rss,
        ):
            ours = run_sync(
                stack.api_url, stack.headers, timeout=s.sync_timeout_s, on_poll=progress, poll_s=1
            )
        memory = rss.result()
        stats = admin.stats()
    ctx.shared.setdefault("rss", {})["large"] = {
        "issues": n,
        "stopped_after_issues": (pages_seen or [0])[0] * ISSUE_PAGE if ours["timed_out"] else None,
        **memory,
    }
    pages = math.ceil(n / ISSUE_PAGE)
    first, rest = sample["page_s"][0], sample["page_s"][1:] or sample["page_s"]
    sequential = first + (pages - 1) * statistics.mean(rest)
    details: dict[str, Any] = {
        "issues": n,
        "latency_ms": s.latency_ms,
        "raw_sample": {
            "pages": sample["pages"],
            "first_page_s": round(first, 3),
            "next_pages_mean_s": round(statistics.mean(rest), 3),
        },
        "raw_sequential_extrapolated_s": round(sequential, 1),
        "ours_seconds": round(ours["seconds"], 2),
        "ours_counts": ours["state"].get("counts"),
        "vendor_calls": stats["requests"],
        "vendor_calls_total": stats["total"],
        "peak_in_flight": stats.get("peak_in_flight"),
        "vendor_max_concurrency": cap,
    }
    note = f"sequential raw paging extrapolated from {sample['pages']} measured pages to {pages}"
    seconds = ours["seconds"]
    if ours["timed_out"]:
        # The sync goes on in the serve process (stopped with it); its pace so far stands in.
        done = max(1, (pages_seen or [0])[0]) * ISSUE_PAGE
        seconds = ours["seconds"] * n / min(done, n)
        details["ours_extrapolated_s"] = round(seconds, 1)
        note += (
            f"; our sync was stopped at {s.sync_timeout_s:.0f} s after ~{done:,} issues and "
            "its time extrapolated"
        )
    speedup = sequential / seconds
    in_flight = stats.get("peak_in_flight", 0)
    row = ctx.row("sync-100k")
    row.value, row.unit, row.details, row.note = round(speedup, 2), "×", details, note
    row.passed = speedup >= 3 and in_flight <= cap
    row.now = (
        f"{seconds:.1f} s = {speedup:.2f}× sequential raw paging ({sequential:.0f} s); "
        f"{n:,} issues, {stats['total']} vendor calls, at most {in_flight} in flight (cap {cap})"
    )


def rss_row(ctx: Ctx) -> None:
    rss = ctx.shared.get("rss", {})
    small, large = rss.get("small"), rss.get("large")
    row = ctx.row("sync-rss")
    if not small or not large or small["peak_mb"] is None or large["peak_mb"] is None:
        row.now = "not measured (a sync scenario failed)"
        return
    growth = large["peak_mb"] / small["peak_mb"]
    row.value, row.unit = large["peak_mb"], "MB"
    row.details = {"small": small, "large": large, "growth": round(growth, 2)}
    row.passed = large["peak_mb"] < 300 and growth <= 1.5
    row.now = (
        f"{small['peak_mb']:.0f} MB at {small['issues']:,}, {large['peak_mb']:.0f} MB at "
        f"{large['issues']:,} ({growth:.2f}×; idle {small['idle_mb']:.0f} MB)"
    )
    row.note = "peak = VmHWM of the serve process; flat = ≤ 1.5× from the small to the large sync"
    if large.get("stopped_after_issues"):
        row.note += f"; the large sync was stopped after ~{large['stopped_after_issues']:,} issues"
