"""CPU per ticket by stage of the sync's page work, in this process: decode, map, prepare,
write.

The pages of ``bench_ingest.py`` (recorded from an in-process emulator), each decoded,
mapped (``SyncOps.issues_from_search``), its rows' own columns made in their stored form
(``tickets.stored.stored_page``; decode, map and prepare are what the helper process does
with ``sync_map_in_worker``) and written (``PageWriter.store``) one after the other. A
checkout without ``tickets.stored`` has no prepare stage (its write makes the rows). Per
stage: microseconds of CPU per ticket for the whole process (``time.process_time``: SQLite's
connection thread included, the PostgreSQL server not) and for the event-loop thread alone
(``time.thread_time``). Run it with another checkout's interpreter for an A/B (its
``ticketbridge``, this script).

    .venv/bin/python bench/bench_ingest_stages.py [--issues 10000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_ingest import SITE, record  # noqa: E402
from sync_setup import SEED_NOW_MS, Database, jira_connection, settings_for  # noqa: E402

from ticketbridge.connectors import for_connection  # noqa: E402
from ticketbridge.connectors.http import decode_json  # noqa: E402
from ticketbridge.connectors.jira.connector import JiraConnector  # noqa: E402
from ticketbridge.fakejira import FakeJiraState, SeedSpec  # noqa: E402
from ticketbridge.fakejira import create_app as create_fake_jira  # noqa: E402
from ticketbridge.logging import configure_logging  # noqa: E402
from ticketbridge.runtime import open_runtime  # noqa: E402
from ticketbridge.sync.catalog import sync_catalog  # noqa: E402
from ticketbridge.sync.repository import SyncRepository  # noqa: E402
from ticketbridge.sync.run import RunState, SyncConfig, default_owner  # noqa: E402
from ticketbridge.sync.service import start_run  # noqa: E402
from ticketbridge.sync.tickets import Page, PageWriter, release_page_garbage  # noqa: E402

try:
    from ticketbridge.tickets.stored import stored_page
except ImportError:  # a checkout from before it: the write stage makes the rows
    stored_page = None  # type: ignore[assignment]


async def stages(backend: str, fake: FakeJiraState, pages: list[bytes]) -> dict[str, list[int]]:
    with Database(backend) as url:
        transport = httpx.ASGITransport(app=create_fake_jira(fake))
        async with open_runtime(settings_for(url), vendor_transport=transport) as runtime:
            cid = await jira_connection(runtime, SITE)
            state = RunState(runtime, cid, default_owner(), SyncConfig(partitioned=False), None)
            await start_run(state, full=True)
            async with runtime.session() as s:
                conn = await SyncRepository(s).connection(cid)
                assert conn is not None
                connector = for_connection(conn, runtime)
            assert isinstance(connector, JiraConnector)
            await sync_catalog(runtime, connector, cid)
            state.run["phase"] = "tickets"
            writer = PageWriter(state)
            spent = {k: [0.0, 0.0] for k in ("decode", "map", "prepare", "write")}
            dialect = runtime.engine.dialect.name

            def clock() -> tuple[float, float]:
                return time.process_time(), time.thread_time()

            for n, raw in enumerate(pages):
                a = clock()
                body = decode_json(raw)
                b = clock()
                batch, _ = connector.issues_from_search(body)
                c = clock()
                stored = None if stored_page is None else stored_page(dialect, batch)
                d = clock()
                if stored is None:
                    await writer.store_page(batch, n == len(pages) - 1)
                else:
                    await writer.store(Page(batch, n == len(pages) - 1, stored=stored))
                e = clock()
                for stage, (x, y) in (
                    ("decode", (a, b)),
                    ("map", (b, c)),
                    ("prepare", (c, d)),
                    ("write", (d, e)),
                ):
                    spent[stage][0] += y[0] - x[0]
                    spent[stage][1] += y[1] - x[1]
                del batch, body, stored
                release_page_garbage()
            tickets = int(state.run["tickets"])
    return {k: [round(v[0] / tickets * 1e6), round(v[1] / tickets * 1e6)] for k, v in spent.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    configure_logging("WARNING")
    fake = FakeJiraState()
    fake.site("acme.atlassian.net").reset(
        SeedSpec.for_total(args.issues, seed=1, now_ms=SEED_NOW_MS)
    )
    pages = await record(fake)
    out = {"unit": "µs of CPU per ticket: [process, event-loop thread]"}
    for backend in args.backends.split(","):
        out[backend] = await stages(backend, fake, pages)  # type: ignore[assignment]
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
