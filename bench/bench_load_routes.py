"""Serve CPU per request, by kind of request, for several checkouts side by side.

One ``fake-jira`` (seeded like the load row: 60 x 20 issues) and, per ``--stack
NAME=PYTHON``, one ``serve`` (embedded, SQLite, rate limit off) synced from it. Then, for
``--rounds`` rounds, each kind of load in turn on each stack (the order of the stacks
alternates between rounds): ``--clients`` closed-loop ``bench/loadgen.py`` clients for
``--secs`` seconds (``--mix-clients`` for ``mix``, the load row's mix), and the CPU time
the ``serve`` process spent (utime + stime from ``/proc``) divided by the requests answered.
On a shared machine that figure moves much less than wall time::

    .venv/bin/python -m bench.bench_load_routes --stack main=/work/main/.venv/bin/python \
        --stack this=.venv/bin/python --kinds read,page,mix --secs 8 --rounds 2

Kinds: ``read`` (``GET /tickets/{id}``), ``page`` (a cursor walk of pages of 50), ``pt``
(passthrough projects), ``search`` (passthrough search of 50), ``create``, ``mix``.
Prints one JSON line per measurement on stderr and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.compare.clients import FakeJiraAdmin, provision, run_sync
from bench.compare.procs import free_port, service_env
from bench.compare.rows.api import JQL, SEED
from bench.loadgen import RawConnection


def cpu(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def wait(url: str, t: float = 120) -> None:
    end = time.time() + t
    while time.time() < end:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(url)


MIXES = {
    "read": {"read": 1},
    "page": {"page": 1},
    "pt": {"pt": 1},
    "search": {"search": 1},
    "create": {"create": 1},
    "mix": {"read": 60, "page": 15, "pt": 8, "search": 7, "create": 10},
}


async def drive(url, headers, ids, mix, clients, secs):
    ops = list(mix)
    weights = [mix[o] for o in ops]
    recs = []
    errs = Counter()
    samples = {}
    stop = time.perf_counter() + secs

    async def client(i):
        rng = random.Random(i * 7 + int(time.time()))
        http = RawConnection(url, headers)
        cursor = None
        n = 0
        try:
            while time.perf_counter() < stop:
                op = rng.choices(ops, weights)[0]
                n += 1
                t0 = time.perf_counter()
                try:
                    if op == "read":
                        r = await http.request("GET", f"/v1/itsm/tickets/{rng.choice(ids)}")
                    elif op == "page":
                        p = {"cursor": cursor} if cursor else {"limit": 50, "enableCursor": "true"}
                        r = await http.request("GET", "/v1/itsm/tickets", p)
                        if r.status == 200:
                            cursor = r.json()["next_cursor"]
                    elif op == "pt":
                        r = await http.request(
                            "GET", "/v1/itsm/passthrough/projects", {"limit": 50}
                        )
                    elif op == "search":
                        r = await http.request(
                            "GET", "/v1/itsm/passthrough/tickets/search", {"jql": JQL, "limit": 50}
                        )
                    else:
                        r = await http.request(
                            "POST",
                            "/v1/itsm/tickets",
                            body={
                                "name": f"ab {i}-{n}",
                                "project_vendor_id": "ACME",
                                "type_vendor_id": "10001",
                            },
                        )
                    st = str(r.status)
                    if r.status >= 400:
                        samples.setdefault(st, r.body[:200])
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    st = type(exc).__name__
                t1 = time.perf_counter()
                recs.append((op, (t1 - t0) * 1000, st))
                if not st.startswith("2"):
                    errs[st] += 1
        finally:
            await http.close()

    t = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    el = time.perf_counter() - t
    lat = sorted(r[1] for r in recs)
    p = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1) if lat else None  # noqa
    return {
        "n": len(recs),
        "rps": round(len(recs) / el, 1),
        "p50": p(0.5),
        "p99": p(0.99),
        "errors": dict(errs),
        "samples": {k: str(v) for k, v in samples.items()},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stack", action="append", required=True)
    ap.add_argument("--kinds", default="read,page,pt,create,mix")
    ap.add_argument("--secs", type=float, default=8)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--mix-clients", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--hold",
        help="write the stacks (pid, url, headers, ids) to this JSON file "
        "and keep them running, e.g. to attach py-spy; no load",
    )
    ap.add_argument("--env", action="append", default=[])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hp-ab-"))
    procs = []
    try:
        jport = free_port()
        jlog = (tmp / "jira.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "ticketbridge.cli", "fake-jira", "--port", str(jport)],
                stdout=jlog,
                stderr=subprocess.STDOUT,
            )
        )
        jurl = f"http://127.0.0.1:{jport}"
        wait(jurl + "/_fake/stats")
        FakeJiraAdmin(jurl).seed(SEED)
        stacks = []
        for spec in args.stack:
            name, py = spec.split("=", 1)
            d = tmp / name
            env = service_env(d, rate_limit_enabled="false")
            for e in args.env:
                sn, _, kv = e.partition(":")
                if sn == name:
                    k, _, v = kv.partition("=")
                    env[k] = v
            port = free_port()
            log = (tmp / f"{name}.log").open("wb")
            p = subprocess.Popen(
                [py, "-m", "ticketbridge.cli", "serve", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            procs.append(p)
            url = f"http://127.0.0.1:{port}"
            wait(url + "/healthz")
            key = (
                subprocess.run(
                    [py, "-m", "ticketbridge.cli", "api-keys", "create", "--name", "b"],
                    env=env,
                    capture_output=True,
                    check=True,
                )
                .stdout.decode()
                .strip()
                .splitlines()[-1]
            )
            h = provision(url, key, jurl)
            run_sync(url, h, timeout=300)
            with httpx.Client(base_url=url, headers=h, timeout=60) as c:
                ids = [
                    t["id"]
                    for t in c.get("/v1/itsm/tickets", params={"limit": 1000}).json()["items"]
                ]
            stacks.append((name, url, h, ids, p.pid))
            print(f"{name}: pid {p.pid} {url}", file=sys.stderr, flush=True)
        if args.hold:
            print(json.dumps({s[0]: {"pid": s[4], "url": s[1], "headers": s[2]} for s in stacks}))
            json.dump(
                {s[0]: {"pid": s[4], "url": s[1], "headers": s[2], "ids": s[3]} for s in stacks},
                open(args.hold, "w"),
            )
            while True:
                time.sleep(60)
        res = {}
        for rnd in range(args.rounds):
            for kind in args.kinds.split(","):
                order = stacks if rnd % 2 == 0 else list(reversed(stacks))
                for name, url, h, ids, pid in order:
                    c0 = cpu(pid)
                    clients = args.mix_clients if kind == "mix" else args.clients
                    r = asyncio.run(drive(url, h, ids, MIXES[kind], clients, args.secs))
                    r["cpu_ms"] = round((cpu(pid) - c0) * 1000 / max(1, r["n"]), 2)
                    r["load"] = os.getloadavg()[0]
                    res.setdefault(kind, {}).setdefault(name, []).append(r)
                    print(kind, name, json.dumps(r), file=sys.stderr, flush=True)
        print("\n| kind | " + " | ".join(f"{s[0]} cpu ms / rps / p99" for s in stacks) + " |")
        for kind, per in res.items():
            cells = []
            for s in stacks:
                runs = [
                    f"{r['cpu_ms']} / {r['rps']} / {r['p99']}"
                    + (f" E{r['errors']}" if r["errors"] else "")
                    for r in per[s[0]]
                ]
                cells.append(" ; ".join(runs))
            print(f"| {kind} | " + " | ".join(cells) + " |")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
