"""HTTP helpers shared by the scenarios: the emulator's admin API, a tenant, timing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

ADMIN = ("admin@example.com", "fake-token")
SEARCH = "POST /rest/api/3/search/jql"
BULK_CREATE_V3 = "POST /rest/api/3/issue/bulk"
BULK_CREATE_V2 = "POST /rest/api/2/issue/bulk"


class FakeJiraAdmin:
    """``/_fake/*`` of one emulator process (its default site)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=600)

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 300:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
        return response.json()

    def seed(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Replace the site's data (faults and stats are kept)."""
        result: dict[str, Any] = self._ok(self.http.post("/_fake/seed", json=spec))
        return result

    def reset(self) -> None:
        self._ok(self.http.post("/_fake/reset", json={}))

    def latency(self, ms: int) -> None:
        self._ok(self.http.put("/_fake/faults", json={"latency_ms": ms}))

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._ok(self.http.get("/_fake/stats"))
        return result

    def reset_stats(self) -> None:
        self._ok(self.http.post("/_fake/stats/reset"))

    def calls(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.stats()["requests"].items()}

    def close(self) -> None:
        self.http.close()


def provision(api_url: str, key: str, jira_url: str) -> dict[str, str]:
    """An organization and a Jira connection to ``jira_url``: the headers of that tenant."""
    headers = {"X-API-KEY": key}
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as c:
        org = c.post("/v1/provisioning/organizations", json={"name": "bench"})
        org.raise_for_status()
        conn = c.post(
            f"/v1/provisioning/organizations/{org.json()['id']}/connections",
            json={
                "vendor": "JIRA",
                "credentials": {"base_url": jira_url, "email": ADMIN[0], "api_token": ADMIN[1]},
            },
        )
        if conn.status_code != 201:
            raise RuntimeError(f"connection: {conn.status_code} {conn.text}")
    return {**headers, "X-CONNECTION-ID": conn.json()["id"]}


def run_sync(
    api_url: str,
    headers: dict[str, str],
    *,
    timeout: float,
    on_poll: Callable[[], None] | None = None,
    poll_s: float = 0.25,
) -> dict[str, Any]:
    """Start a full sync and wait for it: ``{seconds, state, timed_out}``."""
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as c:
        start = time.perf_counter()
        r = c.post("/v1/itsm/sync", params={"full": "true"})
        if r.status_code != 202:
            raise RuntimeError(f"sync: {r.status_code} {r.text}")
        state: dict[str, Any] = {}
        while time.perf_counter() - start < timeout:
            if on_poll is not None:
                on_poll()
            state = c.get("/v1/itsm/sync").json()
            if not state.get("running") and state.get("status") != "RUNNING":
                break
            time.sleep(poll_s)
        else:
            return {"seconds": time.perf_counter() - start, "state": state, "timed_out": True}
        seconds = time.perf_counter() - start
    if state.get("status") != "IDLE":
        raise RuntimeError(f"sync ended {state.get('status')}: {state.get('last_error')}")
    return {"seconds": seconds, "state": state, "timed_out": False}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


Call = Callable[[], Awaitable[httpx.Response]]


async def timed_ms(call: Call, expect: int = 200) -> float:
    start = time.perf_counter()
    response = await call()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != expect:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return elapsed


async def paired(
    direct: Call, ours: Call, n: int, warmup: int, expect: tuple[int, int] = (200, 200)
) -> dict[str, Any]:
    """Alternate ``direct`` and ``ours`` ``n`` times (drift hits both sides): p50/p99 of
    each and the difference of the p50s, in ms."""
    for _ in range(warmup):
        await timed_ms(direct, expect[0])
        await timed_ms(ours, expect[1])
    d: list[float] = []
    o: list[float] = []
    for _ in range(n):
        d.append(await timed_ms(direct, expect[0]))
        o.append(await timed_ms(ours, expect[1]))
        await asyncio.sleep(0)
    return {
        "n": n,
        "direct_p50_ms": round(percentile(d, 0.5), 2),
        "direct_p99_ms": round(percentile(d, 0.99), 2),
        "ours_p50_ms": round(percentile(o, 0.5), 2),
        "ours_p99_ms": round(percentile(o, 0.99), 2),
        "overhead_p50_ms": round(percentile(o, 0.5) - percentile(d, 0.5), 2),
    }
