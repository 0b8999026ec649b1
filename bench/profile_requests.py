"""CPU of one request, by where it goes: the app in this process, the vendor in another.

``ticketbridge fake-jira`` runs as its own process on loopback (so its CPU is not ours) and
the app is driven in this process through ``httpx.ASGITransport``, with the real outbound
transport (aiohttp under httpx), as ``serve`` runs it. Each scenario's requests are run under
``cProfile`` (event-loop thread only: SQLite's worker thread is not in it) and the samples are
grouped by package: ours, FastAPI/Starlette, httpx, aiohttp, SQLAlchemy, pydantic, the
rest. The measured requests are sent as bare ASGI calls (no client-side httpx). Prints per
scenario the thread CPU per request (``time.thread_time``, unprofiled, then profiled: the
profiler's own cost inflates small calls) and the share of each group, with ``--stats N``
the N heaviest functions, and with ``--sql`` the statements one request sends.

    .venv/bin/python bench/profile_requests.py [--n 300] [--only create] [--stats 25]
    PYTHONPATH=/work/main/src .venv/bin/python bench/profile_requests.py   # main's code
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

# Run as a script, so bench/ is on sys.path: the overhead bench's provisioning and secrets.
from bench_overhead import ADMIN, SECRET, provision  # noqa: E402

GROUPS = (
    ("ticketbridge/", "ours"),
    ("fastapi/", "fastapi+starlette"),
    ("starlette/", "fastapi+starlette"),
    ("httpx/", "httpx"),
    ("httpcore/", "httpx"),
    ("aiohttp/", "aiohttp"),
    ("yarl/", "aiohttp"),
    ("multidict/", "aiohttp"),
    ("sqlalchemy/", "sqlalchemy"),
    ("aiosqlite/", "sqlalchemy"),
    ("pydantic", "pydantic"),
    ("orjson", "json"),
    ("json/", "json"),
    ("asyncio/", "asyncio"),
)


def group_of(filename: str, name: str) -> str:
    for needle, group in GROUPS:
        if needle in filename:
            return group
    if "orjson" in name:
        return "json"
    if filename == "~":
        return "builtins"
    return "other"


def by_group(stats: pstats.Stats) -> dict[str, float]:
    """Own time per group, seconds (built-ins land with their caller's group)."""
    out: dict[str, float] = defaultdict(float)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tt, _ct, callers) in raw.items():
        group = group_of(filename, name)
        if group == "builtins" and callers:
            # Split a built-in's time over its callers by their call counts.
            total_calls = sum(c[1] for c in callers.values()) or 1
            for (cfile, _cl, cname), c in callers.items():
                out[group_of(cfile, cname)] += tt * c[1] / total_calls
            continue
        out[group] += tt
    return out


def start_fake_jira(port: int, issues: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "ticketbridge.cli", "fake-jira", "--port", str(port)]
    cmd += ["--seed", str(issues)]
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(300):
            try:
                await c.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def run(args: argparse.Namespace, tmp: Path) -> None:
    from ticketbridge.app import create_app
    from ticketbridge.config import Settings
    from ticketbridge.provisioning.service import create_api_key
    from ticketbridge.store.migrate import upgrade

    port = 18000 + os.getpid() % 1000
    jira_url = f"http://127.0.0.1:{port}"
    proc = start_fake_jira(port, args.issues, tmp / "fake-jira.log")
    try:
        await wait_up(f"{jira_url}/rest/api/3/serverInfo")
        url = f"sqlite:///{tmp / 'tb.db'}"
        upgrade(url)
        settings = Settings(
            database_url=url,
            data_dir=tmp,
            secret_key=SECRET,
            scheduler_enabled=False,
            allow_private_vendor_urls=True,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with app.state.services.runtime.session() as session:
                _, key = await create_api_key(session, name="bench", account_name="bench")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tb") as api:
                headers = await provision(api, key, jira_url)
                await sync(api, headers)
                scenarios = await build(api, Raw(app, headers), jira_url)
                if args.sql:
                    await count_sql(app, scenarios, args.only)
                    return
                for name, call in scenarios.items():
                    if args.only and name not in args.only:
                        continue
                    await measure(name, call, args.n, args.stats, args.callees)
    finally:
        proc.terminate()
        proc.wait(20)


async def sync(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await api.post("/v1/itsm/sync", params={"full": "true"}, headers=headers)
    r.raise_for_status()
    for _ in range(1200):
        await asyncio.sleep(0.25)
        state = (await api.get("/v1/itsm/sync", headers=headers)).json()
        if not state["running"] and state["status"] in ("IDLE", "FAILED"):
            return
    raise RuntimeError("sync did not finish")


Call = Callable[[], Awaitable[Any]]


class Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self.text = body.decode(errors="replace")


class Raw:
    """A bare ASGI caller: the measured requests cost no client-side httpx."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def call(
        self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None
    ) -> Answer:
        raw = orjson.dumps(body) if body is not None else b""
        headers = list(self.headers)
        if body is not None:
            size = b"%d" % len(raw)
            headers += [(b"content-type", b"application/json"), (b"content-length", size)]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(query or {}).encode(),
            "root_path": "",
            "headers": [(b"host", b"tb"), *headers],
            "client": ("127.0.0.1", 5000),
            "server": ("tb", 80),
            "app": self.app,
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        status = 0
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Answer(status, b"".join(chunks))


async def build(
    api: httpx.AsyncClient, raw: Raw, jira_url: str
) -> dict[str, Callable[[], Awaitable[Any]]]:
    async with httpx.AsyncClient(base_url=jira_url, auth=ADMIN) as jira:
        project = (await jira.get("/rest/api/3/project/search")).json()["values"][0]
        meta = (await jira.get(f"/rest/api/3/issue/createmeta/{project['key']}/issuetypes")).json()
    types = meta.get("issueTypes") or meta.get("values")
    type_id = next(t for t in types if not t.get("subtask"))["id"]
    counter = iter(range(10**9))
    jql = f"project = {project['key']} ORDER BY id ASC"

    def create() -> Awaitable[httpx.Response]:
        n = next(counter)
        body = {
            "name": f"profile {n}",
            "project_vendor_id": str(project["id"]),
            "type_vendor_id": str(type_id),
            "identifier": f"profile-{os.getpid()}-{n}",
        }
        return raw.call("POST", "/v1/itsm/tickets", body=body)

    offsets = iter(range(10**9))

    def offset_page() -> Awaitable[httpx.Response]:
        offset = (next(offsets) * 37) % 1000
        params = {"limit": 50, "offset": offset}
        return raw.call("GET", "/v1/itsm/tickets", params)

    return {
        "create": create,
        "passthrough-projects": lambda: raw.call(
            "GET", "/v1/itsm/passthrough/projects", {"limit": 50}
        ),
        "passthrough-search": lambda: raw.call(
            "GET", "/v1/itsm/passthrough/tickets/search", {"jql": jql, "limit": 50}
        ),
        "offset-page": offset_page,
    }


async def count_sql(app: Any, scenarios: dict[str, Call], only: list[str]) -> None:
    """The SQL statements one request of each scenario sends (after a warm-up)."""
    from sqlalchemy import event

    seen: list[str] = []

    def note(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split())[:150])

    engine = app.state.services.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    for name, call in scenarios.items():
        if only and name not in only:
            continue
        for _ in range(3):
            await call()
        seen.clear()
        await call()
        print(f"== {name}: {len(seen)} statements")
        for text in seen:
            print("   ", text)


async def measure(name: str, call: Call, n: int, top: int, callees: list[str]) -> None:
    for _ in range(20):
        r = await call()
        if r.status_code >= 300:
            raise RuntimeError(f"{name}: {r.status_code} {r.text[:300]}")
    profile = cProfile.Profile(time.thread_time)  # CPU, not waits
    t0 = time.thread_time()
    w0 = time.perf_counter()
    profile.enable()
    for _ in range(n):
        await call()
    profile.disable()
    cpu = (time.thread_time() - t0) / n * 1000
    wall = (time.perf_counter() - w0) / n * 1000
    # Unprofiled CPU (cProfile inflates it): the same calls again.
    t1, p1 = time.thread_time(), time.process_time()
    for _ in range(n):
        await call()
    plain = (time.thread_time() - t1) / n * 1000
    every = (time.process_time() - p1) / n * 1000  # SQLite's worker threads too
    stats = pstats.Stats(profile)
    groups = by_group(stats)
    total = sum(groups.values()) or 1
    print(f"== {name}: {plain:.2f} ms CPU/request unprofiled (loop thread; {every:.2f} all)")
    print(f"   profiled {cpu:.2f} ms CPU, {wall:.2f} ms wall; own time by group:")
    for group, secs in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"   {group:20s} {100 * secs / total:5.1f}%  ~{plain * secs / total:.2f} ms")
    if top:
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
    for pattern in callees:
        stats.sort_stats("cumulative").print_callees(pattern)
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--issues", type=int, default=1200)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--callees", nargs="*", default=[], help="pstats patterns to expand")
    parser.add_argument("--sql", action="store_true", help="list each scenario's statements")
    parser.add_argument("--stats", type=int, default=0, help="heaviest functions to print")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
