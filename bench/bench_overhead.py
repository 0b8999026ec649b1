"""Request overhead: the authenticated read floor, list pages, creates, passthrough, and a
mixed load of 200 concurrent clients, against real processes on loopback.

Set-up, as a user runs it: one ``ticketbridge fake-jira --seed N`` process (0 ms latency
unless ``--latency-ms``) and, per *stack*, one ``ticketbridge serve`` process (embedded mode,
SQLite file, default settings) with an API key, a connection to the emulator and a full sync
of its N issues. A stack is a Python interpreter whose ``ticketbridge`` is the code under
test, so one run can compare two checkouts side by side::

    .venv/bin/python bench/bench_overhead.py \\
        --stack before=/work/main/.venv/bin/python --stack after=.venv/bin/python

(the default is one stack, ``this`` = the running interpreter). Sequential rows alternate
between the stacks request by request (and with the direct emulator call where there is
one), so drift on a shared machine hits every side alike; the load scenario runs once per
stack, one stack after the other. Prints JSON: p50/p99 in ms per row and stack, the
overhead over the direct call (p50 minus p50) where there is one, and for the load its
requests/s, percentiles and errors.

Rows: ``healthz``; ``ticket_by_id`` (random stored ids); ``list_offset`` (limit 50 at a random
offset); ``list_cursor`` (limit 50, following ``next_cursor``, from the start again at the
end); ``create`` (vendor ids and an identifier, vs a direct ``POST /rest/api/3/issue``);
``passthrough_projects`` (vs ``project/search``); ``passthrough_search`` (50 issues, vs
``search/jql`` with the fields passthrough asks for). Load: ``--clients`` tasks for
``--load-secs``, each picking 60% ``ticket_by_id``, 15% cursor pages, 15% passthrough
projects, 10% creates. ``--inprocess`` measures the sequential rows in this process instead
(ASGI transport, no sockets, fakejira in-process): our own CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from loadgen import Answer, RawConnection

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
ADMIN = ("admin@example.com", "fake-token")
LIMIT = 50
# What passthrough search asks Jira for (connectors/jira/passthrough_mapping.NORMALIZED_FIELDS),
# spelled out so that this script runs against any checkout.
SEARCH_FIELDS = [
    "summary",
    "description",
    "status",
    "priority",
    "issuetype",
    "project",
    "assignee",
    "reporter",
    "labels",
    "duedate",
    "parent",
    "created",
    "updated",
    "resolutiondate",
]
Call = Callable[[], Awaitable[httpx.Response]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 0.5), 2), "p99": round(percentile(values, 0.99), 2)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@dataclass
class Stack:
    """One ``serve`` process and what the rows need from it."""

    name: str
    client: httpx.AsyncClient
    headers: dict[str, str]
    pid: int | None = None  # the serve process (loopback): its CPU time is read from /proc
    ticket_ids: list[str] = field(default_factory=list)
    cursor: str | None = None
    created: int = 0

    def cpu_secs(self) -> float:
        """User + system CPU seconds of the serve process so far (0 in-process)."""
        if self.pid is None:
            return 0.0
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def get_ticket(self, index: int) -> Call:
        tid = self.ticket_ids[index % len(self.ticket_ids)]
        return lambda: self.client.get(f"/v1/itsm/tickets/{tid}", headers=self.headers)

    def offset_page(self, offset: int) -> Call:
        params = {"limit": LIMIT, "offset": offset}
        return lambda: self.client.get("/v1/itsm/tickets", params=params, headers=self.headers)

    async def next_cursor_page(self) -> httpx.Response:
        params: dict[str, Any] = {"limit": LIMIT, "enableCursor": "true"}
        if self.cursor:
            params["cursor"] = self.cursor
        r = await self.client.get("/v1/itsm/tickets", params=params, headers=self.headers)
        if r.status_code == 200:
            self.cursor = r.json().get("next_cursor")
        return r


@dataclass
class Jira:
    client: httpx.AsyncClient
    project_key: str
    project_id: str
    issue_type_id: str


def create_body(jira: Jira, tag: str) -> dict[str, Any]:
    return {
        "name": f"bench {tag}",
        "project_vendor_id": jira.project_id,
        "type_vendor_id": jira.issue_type_id,
        "identifier": f"bench-{tag}",
    }


def direct_create(jira: Jira, tag: str) -> Call:
    fields = {
        "project": {"id": jira.project_id},
        "issuetype": {"id": jira.issue_type_id},
        "summary": f"direct {tag}",
    }
    return lambda: jira.client.post("/rest/api/3/issue", json={"fields": fields})


def stack_create(stack: Stack, jira: Jira, run: str) -> Call:
    stack.created += 1
    body = create_body(jira, f"{run}-{stack.name}-{stack.created}")
    return lambda: stack.client.post("/v1/itsm/tickets", json=body, headers=stack.headers)


def search_body(jira: Jira) -> dict[str, Any]:
    return {
        "jql": f"project = {jira.project_key} ORDER BY id ASC",
        "maxResults": LIMIT,
        "fields": SEARCH_FIELDS,
    }


def rows(
    stacks: list[Stack], jira: Jira, run: str, rng: random.Random
) -> dict[str, tuple[Callable[[], Call] | None, Callable[[Stack], Call]]]:
    """name -> (direct call factory or None, per-stack call factory)."""
    jql = f"project = {jira.project_key} ORDER BY id ASC"
    n_tickets = max(1, min(len(s.ticket_ids) for s in stacks))
    return {
        "healthz": (None, lambda s: lambda: s.client.get("/healthz")),
        "ticket_by_id": (None, lambda s: s.get_ticket(rng.randrange(len(s.ticket_ids)))),
        "list_offset": (None, lambda s: s.offset_page(rng.randrange(max(1, n_tickets - LIMIT)))),
        "list_cursor": (None, lambda s: s.next_cursor_page),
        "create": (
            lambda: direct_create(jira, f"{run}-{rng.random()}"),
            lambda s: stack_create(s, jira, run),
        ),
        "passthrough_projects": (
            lambda: (
                lambda: jira.client.get(
                    "/rest/api/3/project/search", params={"startAt": 0, "maxResults": LIMIT}
                )
            ),
            lambda s: (
                lambda: s.client.get(
                    "/v1/itsm/passthrough/projects", params={"limit": LIMIT}, headers=s.headers
                )
            ),
        ),
        "passthrough_search": (
            lambda: lambda: jira.client.post("/rest/api/3/search/jql", json=search_body(jira)),
            lambda s: (
                lambda: s.client.get(
                    "/v1/itsm/passthrough/tickets/search",
                    params={"jql": jql, "limit": LIMIT},
                    headers=s.headers,
                )
            ),
        ),
    }


async def timed(call: Call) -> float:
    start = time.perf_counter()
    response = await call()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return elapsed


async def sequential(
    stacks: list[Stack], jira: Jira, n: int, warmup: int, only: set[str] | None
) -> dict[str, Any]:
    rng = random.Random(13)
    run = f"{int(time.time())}"
    out: dict[str, Any] = {}
    for name, (direct, per_stack) in rows(stacks, jira, run, rng).items():
        if only and name not in only:
            continue
        times: dict[str, list[float]] = {s.name: [] for s in stacks}
        direct_times: list[float] = []
        cpu0 = {s.name: s.cpu_secs() for s in stacks}
        for i in range(warmup + n):
            order = list(stacks)
            rng.shuffle(order)  # neither stack always runs right after the direct call
            if direct is not None:
                t = await timed(direct())
                if i >= warmup:
                    direct_times.append(t)
            for s in order:
                t = await timed(per_stack(s))
                if i >= warmup:
                    times[s.name].append(t)
        row: dict[str, Any] = {s: summary(v) for s, v in times.items()}
        if any(s.pid for s in stacks):
            # Robust to a busy machine: CPU the server itself spent per request.
            row["server_cpu_ms_per_request"] = {
                s.name: round((s.cpu_secs() - cpu0[s.name]) * 1000 / (warmup + n), 2)
                for s in stacks
            }
        if direct is not None:
            d = summary(direct_times)
            row["direct"] = d
            row["overhead_p50_ms"] = {s: round(row[s]["p50"] - d["p50"], 2) for s in times}
        out[name] = row
    return out


MIX = {"read": 60, "cursor": 15, "passthrough": 15, "create": 10}


async def load(
    stack: Stack, jira: Jira, clients: int, secs: float, run: str, mix: dict[str, int]
) -> dict[str, Any]:
    """``clients`` tasks, each sending its next request as soon as the last one answered."""
    latencies: dict[str, list[float]] = {"read": [], "cursor": [], "passthrough": [], "create": []}
    errors: dict[str, int] = {}
    counter = itertools.count()
    kinds = [kind for kind, share in mix.items() for _ in range(share)]
    deadline = time.perf_counter() + secs

    base = str(stack.client.base_url)

    async def send(
        conn: RawConnection, kind: str, rng: random.Random, cursor: str | None
    ) -> Answer:
        if kind == "read":
            tid = stack.ticket_ids[rng.randrange(len(stack.ticket_ids))]
            return await conn.request("GET", f"/v1/itsm/tickets/{tid}")
        if kind == "cursor":
            params: dict[str, Any] = {"limit": LIMIT, "enableCursor": "true"}
            if cursor:
                params["cursor"] = cursor
            return await conn.request("GET", "/v1/itsm/tickets", params)
        if kind == "passthrough":
            return await conn.request("GET", "/v1/itsm/passthrough/projects", {"limit": LIMIT})
        body = create_body(jira, f"load-{run}-{stack.name}-{next(counter)}")
        return await conn.request("POST", "/v1/itsm/tickets", body=body)

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = RawConnection(base, stack.headers)
        cursor: str | None = None
        try:
            while time.perf_counter() < deadline:
                kind = rng.choice(kinds)
                start = time.perf_counter()
                answer: Answer | None = None
                try:
                    answer = await send(conn, kind, rng, cursor)
                    ok, label = answer.status < 300, str(answer.status)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    ok, label = False, type(exc).__name__
                latencies[kind].append((time.perf_counter() - start) * 1000)
                if not ok:
                    errors[label] = errors.get(label, 0) + 1
                elif kind == "cursor" and answer is not None:
                    cursor = answer.json().get("next_cursor")
        finally:
            await conn.close()

    started, cpu0, client0 = time.perf_counter(), stack.cpu_secs(), time.process_time()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    cpu = stack.cpu_secs() - cpu0
    every = [v for vs in latencies.values() for v in vs]
    return {
        "clients": clients,
        "secs": round(elapsed, 1),
        "requests": len(every),
        "requests_per_sec": round(len(every) / elapsed, 1),
        "ms": {
            "p50": round(percentile(every, 0.5), 1),
            "p99": round(percentile(every, 0.99), 1),
        },
        "by_kind_ms": {k: summary(v) for k, v in latencies.items() if v},
        "errors": errors,
        "server_cpu_ms_per_request": round(cpu * 1000 / max(1, len(every)), 2),
        # Busy share of one core: the load generator must not be the bottleneck.
        "server_cpu_share": round(cpu / elapsed, 2),
        "client_cpu_share": round((time.process_time() - client0) / elapsed, 2),
    }


async def provision(api: httpx.AsyncClient, key: str, jira_url: str) -> dict[str, str]:
    headers = {"X-API-KEY": key}
    r = await api.post("/v1/provisioning/organizations", json={"name": "bench"}, headers=headers)
    r.raise_for_status()
    r = await api.post(
        f"/v1/provisioning/organizations/{r.json()['id']}/connections",
        json={
            "vendor": "JIRA",
            "credentials": {"base_url": jira_url, "email": ADMIN[0], "api_token": ADMIN[1]},
        },
        headers=headers,
    )
    r.raise_for_status()
    return {**headers, "X-CONNECTION-ID": r.json()["id"]}


async def sync_all(stack: Stack, expected: int) -> None:
    r = await stack.client.post("/v1/itsm/sync", params={"full": "true"}, headers=stack.headers)
    r.raise_for_status()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        state = (await stack.client.get("/v1/itsm/sync", headers=stack.headers)).json()
        if not state["running"] and state["status"] in ("IDLE", "FAILED"):
            if state["status"] == "FAILED":
                raise RuntimeError(f"{stack.name}: sync failed: {state['last_error']}")
            break
    params: dict[str, Any] = {"limit": 1000, "enableCursor": "true"}
    while True:
        r = await stack.client.get("/v1/itsm/tickets", params=params, headers=stack.headers)
        r.raise_for_status()
        page = r.json()
        stack.ticket_ids += [t["id"] for t in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    if len(stack.ticket_ids) < expected:
        raise RuntimeError(f"{stack.name}: {len(stack.ticket_ids)} of {expected} tickets stored")


async def jira_facts(client: httpx.AsyncClient) -> Jira:
    r = await client.get("/rest/api/3/project/search", params={"maxResults": 1})
    project = r.json()["values"][0]
    r = await client.get(f"/rest/api/3/issue/createmeta/{project['key']}/issuetypes")
    body = r.json()
    types = body.get("issueTypes") or body.get("values")
    task = next((t for t in types if not t.get("subtask")), types[0])
    return Jira(client, project["key"], str(project["id"]), str(task["id"]))


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


async def loopback(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    procs: list[subprocess.Popen[bytes]] = []
    clients: list[httpx.AsyncClient] = []
    try:
        jira_port = free_port()
        jira_url = f"http://127.0.0.1:{jira_port}"
        procs.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "ticketbridge.cli",
                    "fake-jira",
                    "--port",
                    str(jira_port),
                    "--seed",
                    str(args.tickets),
                    "--latency-ms",
                    str(args.latency_ms),
                ],
                dict(os.environ),
                tmp / "fake-jira.log",
            )
        )
        wait_until_up(f"{jira_url}/rest/api/3/serverInfo", procs[-1])
        limits = httpx.Limits(max_connections=args.clients + 10, max_keepalive_connections=None)
        jira_client = httpx.AsyncClient(base_url=jira_url, auth=ADMIN, limits=limits, timeout=60)
        clients.append(jira_client)
        jira = await jira_facts(jira_client)
        stacks: list[Stack] = []
        for spec in args.stack or [f"this={sys.executable}"]:
            name, python = spec.split("=", 1)
            data = tmp / name
            data.mkdir()
            env = {
                **os.environ,
                "TICKETBRIDGE_DATABASE_URL": f"sqlite:///{data / 'ticketbridge.db'}",
                "TICKETBRIDGE_DATA_DIR": str(data),
                "TICKETBRIDGE_SECRET_KEY": SECRET,
                "TICKETBRIDGE_SCHEDULER_ENABLED": "false",
                "TICKETBRIDGE_ALLOW_PRIVATE_VENDOR_URLS": "true",
            }
            for extra in args.env:  # NAME:KEY=VALUE, for this stack only
                stack_name, _, assignment = extra.partition(":")
                if stack_name == name:
                    env_key, _, env_value = assignment.partition("=")
                    env[env_key] = env_value
            cli = [python, "-m", "ticketbridge.cli"]
            subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
            key = (
                subprocess.run(
                    [*cli, "api-keys", "create", "--name", "bench"],
                    env=env,
                    check=True,
                    capture_output=True,
                )
                .stdout.decode()
                .split()[-1]
            )
            port = free_port()
            procs.append(start([*cli, "serve", "--port", str(port)], env, data / "serve.log"))
            api_url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{api_url}/healthz", procs[-1])
            api = httpx.AsyncClient(base_url=api_url, limits=limits, timeout=60)
            clients.append(api)
            stack = Stack(name, api, await provision(api, key, jira_url), pid=procs[-1].pid)
            await sync_all(stack, args.tickets)
            stacks.append(stack)
        result: dict[str, Any] = {
            "stacks": {s.split("=", 1)[0]: s.split("=", 1)[1] for s in args.stack or []},
            "sequential": await sequential(stacks, jira, args.n, args.warmup, set(args.only)),
        }
        if args.load_secs > 0:
            run = f"{int(time.time())}"
            result["load"] = {
                s.name: await load(s, jira, args.clients, args.load_secs, run, args.mix)
                for s in stacks
            }
        return result
    finally:
        for c in clients:
            await c.aclose()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def inprocess(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The sequential rows with ticketbridge and fakejira in this process (ASGI transport)."""
    from ticketbridge.app import create_app
    from ticketbridge.config import Settings
    from ticketbridge.fakejira import FakeJiraState, SeedSpec
    from ticketbridge.fakejira import create_app as create_fake_jira
    from ticketbridge.provisioning.service import create_api_key
    from ticketbridge.store.migrate import upgrade

    state = FakeJiraState()
    state.site("acme.atlassian.net").reset(SeedSpec.for_total(args.tickets))
    fake = create_fake_jira(state)
    url = f"sqlite:///{tmp / 'inprocess.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        data_dir=tmp,
        secret_key=SECRET,
        scheduler_enabled=False,
        allow_private_vendor_urls=True,
    )
    app = create_app(settings, vendor_transport=httpx.ASGITransport(app=fake))
    async with app.router.lifespan_context(app):
        async with app.state.services.runtime.session() as session:
            _, key = await create_api_key(session, name="bench", account_name="bench")
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tb") as api,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=fake),
                base_url="https://acme.atlassian.net",
                auth=ADMIN,
            ) as jira_client,
        ):
            jira = await jira_facts(jira_client)
            stack = Stack("this", api, await provision(api, key, "https://acme.atlassian.net"))
            await sync_all(stack, args.tickets)
            return {
                "sequential": await sequential([stack], jira, args.n, args.warmup, set(args.only))
            }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack",
        action="append",
        help="NAME=PYTHON: a serve process run by that interpreter (repeatable)",
    )
    parser.add_argument(
        "--env", action="append", default=[], help="NAME:KEY=VALUE: extra environment of a stack"
    )
    parser.add_argument("--n", type=int, default=200, help="measured requests per row and stack")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--tickets", type=int, default=5000, help="issues seeded and synced")
    parser.add_argument("--latency-ms", type=int, default=0, help="emulated Jira latency")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--load-secs", type=float, default=30.0, help="0: no load scenario")
    parser.add_argument("--only", action="append", default=[], help="run only these rows")
    parser.add_argument(
        "--mix",
        type=lambda text: {k: int(v) for k, v in (p.split("=") for p in text.split(","))},
        default=MIX,
        help="load shares, e.g. read=60,cursor=15,passthrough=15,create=10",
    )
    parser.add_argument("--inprocess", action="store_true", help="sequential rows, in-process")
    parser.add_argument("--keep", help="an empty folder to keep the databases and logs in")
    parser.add_argument("--markdown", action="store_true", help="also a table on stderr")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "benchmark": "request_overhead",
        "tickets": args.tickets,
        "jira_latency_ms": args.latency_ms,
        "n": args.n,
    }
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.keep or tmp)
        where.mkdir(parents=True, exist_ok=True)
        if args.inprocess:
            results["inprocess"] = await inprocess(args, where)
        else:
            results["loopback"] = await loopback(args, where)
    print(json.dumps(results, indent=2))
    if args.markdown:
        print(markdown(results["loopback" if not args.inprocess else "inprocess"]), file=sys.stderr)


def markdown(result: dict[str, Any]) -> str:
    """The sequential rows and the load as a Markdown table (p50 / p99 ms; server CPU)."""
    rows = result["sequential"]
    names = [k for k in next(iter(rows.values())) if isinstance(rows[next(iter(rows))][k], dict)]
    stacks = [
        n for n in names if n not in ("direct", "overhead_p50_ms", "server_cpu_ms_per_request")
    ]
    head = (
        "| row | "
        + " | ".join(f"{s} p50 / p99" for s in stacks)
        + " | direct p50 | overhead p50 | server CPU ms/request |"
    )
    lines = [head, "|" + "---|" * (len(stacks) + 4)]
    for name, row in rows.items():
        cells = [f"{row[s]['p50']} / {row[s]['p99']}" for s in stacks]
        direct = row.get("direct", {}).get("p50", "")
        over = " / ".join(str(row.get("overhead_p50_ms", {}).get(s, "")) for s in stacks)
        cpu = " / ".join(str(row.get("server_cpu_ms_per_request", {}).get(s, "")) for s in stacks)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {direct} | {over} | {cpu} |")
    for stack, load in result.get("load", {}).items():
        lines.append(
            f"| load ({stack}) | {load['requests_per_sec']} req/s, p50 {load['ms']['p50']}, "
            f"p99 {load['ms']['p99']}, errors {sum(load['errors'].values())} | | | | "
            f"{load['server_cpu_ms_per_request']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    asyncio.run(main())
