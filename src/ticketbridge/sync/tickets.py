"""Sync phase 2: the ticket pages, each upserted and checkpointed in one transaction.

Reading and writing overlap: vendor reads run in their own tasks and hand pages to one writer
through a bounded queue, so the next page is on its way while the last one is mapped and
written, and memory holds a few pages whatever the size of the walk.

* An incremental run (and any run the connector does not slice) reads one ordered stream,
  ``updated`` ascending: the reader fetches page n+1 while page n is written.
* A full run reads the connector's disjoint slices (``plan_partitions``) concurrently, within
  the connection's vendor concurrency cap (``SyncConfig.readers``) and backing off under rate
  limits (``pipeline.Gate``). Each slice has its own resume point in the checkpoint, and its
  reader fetches the slice's next page while the last one is written but hands it over only
  once that one is committed (one page ahead per slice), so a run killed at any moment
  re-reads at most two pages per slice.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ticketbridge.catalog.repository import CatalogRepository
from ticketbridge.connectors import (
    NormalizedIssue,
    NormalizedUser,
    OffloadedPageReads,
    SyncConnector,
)
from ticketbridge.errors import VendorRejected
from ticketbridge.logging import get_logger
from ticketbridge.sync.pipeline import Gate, together
from ticketbridge.sync.repository import SyncRepository
from ticketbridge.sync.run import RunState, epoch_ms
from ticketbridge.tickets.repository import LinkCache, TicketRepository
from ticketbridge.tickets.stored import Stored, stored_page

log = get_logger(__name__)


def release_page_garbage() -> None:
    """Free the last page now rather than at the next full collection.

    An httpx response and its stream reference each other, so each page's response body
    (hundreds of KB) lives until the cyclic GC runs. By then it has usually reached the
    young generations' end; a full collection may be far away in a big process, letting
    garbage pile up with the number of pages. A generation-1 collection is cheap (young
    objects only) and catches most of it.
    """
    gc.collect(1)


@dataclass
class Page:
    issues: list[NormalizedIssue]
    last: bool  # the walk's (stream) or the slice's (partition) last page
    partition: int | None = None
    position: str | None = None
    committed: asyncio.Future[None] | None = None
    stored: list[Stored] | None = None  # the rows' own columns, made with the mapping


class PageWriter:
    """Writes a run's pages, one transaction each: the page's people, its tickets, the
    checkpoint. Catalog ids resolved by one page serve the next (``LinkCache``), and a
    person already written by this run with the same details is not written again."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.links = LinkCache()
        self.people: dict[str, NormalizedUser] = {}  # accountId -> as this run wrote it

    async def store_page(self, issues: Sequence[NormalizedIssue], last: bool) -> None:
        """One page of a single stream."""
        await self.store(Page(list(issues), last))

    async def store(self, page: Page) -> None:
        state, issues = self.state, page.issues
        runtime, cid, run = state.runtime, state.connection_id, state.run
        async with runtime.session() as s:
            people = {p.vendor_id: p for i in issues for p in i.people}
            changed_people = [p for k, p in people.items() if self.people.get(k) != p]
            if changed_people:
                # A failed page fails the run, and the writer with it: ids cached from a
                # rolled-back transaction are never used.
                ids = await CatalogRepository(s).upsert_users(cid, changed_people)
                self.links.users.update(ids)
            changed = await TicketRepository(s).upsert_page(cid, issues, self.links, page.stored)
            stamps = [m for m in (epoch_ms(i.vendor_updated_at) for i in issues) if m is not None]
            if stamps:
                run["max_updated_ms"] = max([*stamps, run["max_updated_ms"] or 0])
            run["pages"] += 1
            run["tickets"] += len(issues)
            run["changed"] += changed
            finished = page.last
            if page.partition is not None:
                slot = run["partitions"][page.partition]
                slot["pages"] += 1
                slot["after"] = page.position or slot["after"]
                slot["done"] = page.last
                finished = all(p["done"] for p in run["partitions"])
            if finished:
                run["phase"] = "reconcile"
                await TicketRepository(s).resolve_parents(cid)
            await state.checkpoint(SyncRepository(s))
        # Only once committed: a rolled-back page must write its people again.
        self.people.update((p.vendor_id, p) for p in changed_people)


async def sync_tickets(
    state: RunState,
    connector: SyncConnector,
    project_keys: list[str] | None,
    *,
    estimate_total: bool,
) -> None:
    run = state.run
    fresh = run["max_updated_ms"] is None and not run["pages"]
    if run["mode"] == "full" and fresh and "partitions" not in run and state.config.partitioned:
        await _plan(state, connector, project_keys)
    if run.get("partitions"):
        parts = run["partitions"]
        if estimate_total:
            left = sum(int(p["spec"].get("estimate", 0)) for p in parts if not p["done"])
            state.estimated_total = run["tickets"] + left
        await state.progress()
        try:
            await _walk_partitions(state, connector)
            return
        except VendorRejected as exc:
            # A slice's query refused from its start (its project deleted meanwhile, say):
            # retrying the same slices would fail forever, so read the whole scope as one
            # stream from the run's start instead (what is stored already stays; unchanged
            # rows are not rewritten).
            log.warning(
                "sync_slices_refused",
                connection_id=str(state.connection_id),
                error=exc.message,
            )
            del run["partitions"]
            run["max_updated_ms"] = None
    await _walk_stream(state, connector, project_keys, estimate_total=estimate_total)


ReadPage = Callable[
    [str, str | None, int],
    Awaitable[tuple[list[NormalizedIssue], str | None, list[Stored] | None]],
]


def page_reader(state: RunState, connector: SyncConnector) -> ReadPage:
    """The connector's page read, with the rows' stored form (``tickets.stored``) when it
    can be made with the mapping; decoded and mapped in the runtime's helper process when
    there is one (``sync_map_in_worker``) and the connector can, so the writes of this
    process overlap that work instead of waiting for it on the event loop. Without the
    stored form, the writer makes it (the same function, in this process)."""
    offload = state.runtime.offload
    if offload is None or not isinstance(connector, OffloadedPageReads):

        async def read_here(
            query: str, token: str | None, size: int
        ) -> tuple[list[NormalizedIssue], str | None, list[Stored] | None]:
            issues, after = await connector.search_issues_page(query, token, size)
            return issues, after, None

        return read_here

    prepare = partial(stored_page, state.runtime.engine.dialect.name)

    async def read(
        query: str, token: str | None, size: int
    ) -> tuple[list[NormalizedIssue], str | None, list[Stored] | None]:
        return await connector.search_issues_page_offloaded(
            query, token, size, offload.run, prepare
        )

    return read


def readers(state: RunState) -> int:
    """Concurrent reads of a full walk: the configured number, else three quarters of the
    connection's vendor concurrency cap (the rest stays free for its API requests)."""
    cap = max(1, state.runtime.connectors.max_concurrency)
    wanted = state.config.readers or cap - cap // 4
    return max(1, min(cap, wanted))


async def _plan(state: RunState, connector: SyncConnector, project_keys: list[str] | None) -> None:
    width, min_slice = readers(state), state.config.slice_pages * state.config.page_size
    # A small scope reads faster as one pipelined stream than as slices (fewer calls).
    total = await connector.count_issues(connector.incremental_query(project_keys, 0))
    if total < 2 * min_slice:
        return
    keys = project_keys
    if keys is None:  # every project the account sees: slice the ones the catalog found
        async with state.runtime.session() as s:
            rows = await CatalogRepository(s).active_project_keys(state.connection_id)
        keys = [key for _, key in rows]
    plan = await connector.plan_partitions(
        keys,
        whole_scope=project_keys is not None,
        slices=4 * width,
        min_slice=min_slice,
    )
    if not plan:
        return
    state.run["partitions"] = [
        {"spec": spec, "after": None, "done": False, "pages": 0} for spec in plan
    ]
    async with state.runtime.session() as s:
        await state.checkpoint(SyncRepository(s))


# -- one ordered stream ------------------------------------------------------------------------
async def _walk_stream(
    state: RunState,
    connector: SyncConnector,
    project_keys: list[str] | None,
    *,
    estimate_total: bool,
) -> None:
    run, config = state.run, state.config
    overlap_ms = int(config.overlap_secs * 1000)
    since = int(run["since_ms"])
    if run["max_updated_ms"] is not None:
        # Resuming: page tokens expire, so the query is issued again from the highest
        # `updated` already stored, minus the overlap (ties and index lag).
        since = max(since, int(run["max_updated_ms"]) - overlap_ms)
    query = connector.incremental_query(project_keys, since)
    if estimate_total:
        state.estimated_total = run["tickets"] + await connector.count_issues(query)
    await state.progress()
    pages: asyncio.Queue[Page] = asyncio.Queue(maxsize=1)
    writer = PageWriter(state)
    read_page = page_reader(state, connector)

    async def read() -> None:
        token: str | None = None
        while True:
            issues, token, stored = await read_page(query, token, config.page_size)
            # One page ahead, no more: the next is fetched while this one's predecessor is
            # written, so a crash loses at most the page being written and this one.
            await pages.join()
            await pages.put(Page(issues, token is None, stored=stored))
            del issues, stored
            if token is None:
                return

    async def write() -> None:
        while True:
            page = await pages.get()
            await writer.store(page)
            pages.task_done()
            last = page.last
            del page
            release_page_garbage()
            await state.progress()
            if last:
                return

    await together(read(), write())


# -- disjoint slices, concurrently -------------------------------------------------------------
_DONE = Page([], True)  # the readers have finished


async def _walk_partitions(state: RunState, connector: SyncConnector) -> None:
    run, config = state.run, state.config
    todo = [n for n, p in enumerate(run["partitions"]) if not p["done"]]
    width = min(readers(state), len(todo)) or 1
    gate = Gate(width)
    pages: asyncio.Queue[Page] = asyncio.Queue(maxsize=width)
    writer = PageWriter(state)
    loop = asyncio.get_running_loop()
    read_page = page_reader(state, connector)

    async def read_slice(n: int) -> None:
        slot: dict[str, Any] = run["partitions"][n]
        after: str | None = slot["after"]
        query = connector.partition_query(slot["spec"], after)
        token: str | None = None
        ahead: asyncio.Future[None] | None = None  # the slice's page before this one
        while True:
            waited = connector.throttled_secs
            try:
                async with gate:
                    issues, token, stored = await read_page(query, token, config.page_size)
            except VendorRejected:
                if after is None or token is not None:
                    raise
                # The resume point is refused (its issue may be gone): read the slice again.
                log.info("sync_slice_restarted", connection_id=str(state.connection_id))
                after, query = None, connector.partition_query(slot["spec"], None)
                continue
            gate.throttled(connector.throttled_secs > waited)
            position = connector.partition_position(slot["spec"], issues)
            # One page ahead per slice, no more: page n+1 was fetched while page n was
            # written, and is handed over once page n is committed. A crash makes the next
            # run read again at most two pages of the slice: the one being written and the
            # one fetched ahead of it.
            if ahead is not None:
                await ahead
            ahead = loop.create_future()
            await pages.put(Page(issues, token is None, n, position, ahead, stored))
            del issues, stored
            if token is None:
                return

    async def read_all() -> None:
        queue = list(todo)

        async def worker() -> None:
            while queue:
                await read_slice(queue.pop(0))

        await together(*(worker() for _ in range(width)))
        await pages.put(_DONE)

    async def write() -> None:
        while True:
            page = await pages.get()
            if page is _DONE:
                return
            await writer.store(page)
            if page.committed is not None:
                page.committed.set_result(None)
            del page
            release_page_garbage()
            await state.progress()

    await together(read_all(), write())
