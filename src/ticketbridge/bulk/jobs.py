"""The async bulk jobs: ``tickets.bulk_create`` and ``tickets.bulk_update``.

Bulk create is exactly once across crashes: each chunk of 50 has a ``job_chunks`` row whose
status is committed as SENT (fenced by the job's lease) before every vendor call. A resumed
job skips DONE chunks, searches Jira for the markers of a SENT chunk's items, and sends only
the items not found. The chunk's results, its tickets in the store and DONE are one commit;
the chunk that commits last also finishes the job in that commit.

Chunks run concurrently; each one's vendor part holds one of the connection's turns
(``connectors.turns``: as many as its vendor concurrency cap, handed round the jobs of the
connection fairly), so one job alone uses the whole cap and many jobs share it chunk by chunk.

Bulk update needs no such bookkeeping: it reads the issues' current state first, and setting
a field or moving to a status the issue already has is a no-op, so a resumed run only redoes
what is still missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.bulk.create import (
    CachingConnector,
    Item,
    assign_identifiers,
    chunks,
    complete,
    create_exactly_once,
    persist,
    prepare,
    result,
)
from ticketbridge.connectors import UNSET, IssueRef, for_connection, marker_label
from ticketbridge.errors import NotFound, Unprocessable
from ticketbridge.jobs.repository import JobChunkRepository
from ticketbridge.jobs.runner import JobContext, LeaseLost
from ticketbridge.provisioning.repository import ConnectionRepository
from ticketbridge.store.models import Connection
from ticketbridge.tickets.identifiers import (
    bulk_tag,
    given_identifiers,
    settle_bulk,
    settled_items,
)
from ticketbridge.tickets.repository import LinkCache, TicketRepository
from ticketbridge.tickets.schemas import TicketUpdate
from ticketbridge.tickets.service import resolve_update


async def _connection(ctx: JobContext, session: AsyncSession | None = None) -> Connection | None:
    if session is None:
        async with ctx.session() as s:
            return await _connection(ctx, s)
    conn = await ConnectionRepository(session).get(ctx.job.connection_id)
    return conn if conn is not None and conn.is_active else None


def _failed(index: int, identifier: str | None, error: str) -> dict[str, Any]:
    return {
        "success": False,
        "request_index": index,
        "identifier": identifier,
        "vendor_ticket_id": None,
        "ticket_id": None,
        "error": error,
    }


# -- bulk create --------------------------------------------------------------------------------
def _chunk_marker(connection_id: uuid.UUID, identifiers: Sequence[str]) -> str:
    """A digest of the chunk's item markers: what the chunk row's intent is about."""
    markers = "\n".join(marker_label(str(connection_id), i) for i in identifiers)
    return f"chunk-{hashlib.sha256(markers.encode()).hexdigest()[:32]}"


def chunk_markers(connection_id: uuid.UUID, identifiers: Sequence[str]) -> dict[int, str]:
    """``{chunk index: marker}`` of a bulk create job's items."""
    return {
        k: _chunk_marker(connection_id, [identifiers[i] for i in r])
        for k, r in enumerate(chunks(len(identifiers)))
    }


async def run_create(ctx: JobContext) -> list[dict[str, Any]]:
    job = ctx.job
    tickets: list[Any] = list(job.payload.get("tickets") or [])
    identifiers: list[str] = list(job.payload.get("identifiers") or assign_identifiers(tickets))
    ranges = chunks(len(tickets))
    connector: CachingConnector | None = None
    links = LinkCache()
    prepared: dict[int, Item] = {}
    async with ctx.session() as s:
        conn = await _connection(ctx, s)
        if conn is not None:
            markers = chunk_markers(conn.id, identifiers)
            repo = JobChunkRepository(s)
            rows = await repo.for_job(job.id)
            if set(rows) != set(markers):  # they normally come with the job (enqueue_create)
                await repo.ensure(job.id, markers)
                rows = await repo.for_job(job.id)
                await s.commit()  # before any vendor lookup of prepare
            # Every chunk still to do is validated and resolved here, in this session, with
            # one store query per kind of reference for the whole job (as bulk/sync does for
            # its request), not a session and a set of queries per chunk. A resumed chunk
            # finds its own earlier creates by their markers: they are not duplicates, so
            # the Jira check runs on a chunk's first attempt only.
            connector = CachingConnector(for_connection(conn, ctx.runtime))
            search_first = {
                k: rows[k].status == "SENT" or rows[k].marker != markers[k]
                for k in range(len(ranges))
                if rows[k].status != "DONE"
            }
            for resumed in (False, True):
                indexes = [
                    i for k, r in enumerate(ranges) if search_first.get(k) is resumed for i in r
                ]
                if indexes:
                    items = await prepare(
                        s,
                        connector,
                        conn,
                        tickets,
                        identifiers,
                        indexes,
                        check_vendor=not resumed,
                        links=links,
                    )
                    prepared.update({i.index: i for i in items})
    if conn is None or connector is None:
        return [
            _failed(i, identifiers[i], "connection not found or disabled")
            for i in range(len(tickets))
        ]
    given = set(given_identifiers(tickets, identifiers))  # the ones journaled at enqueue
    results: dict[int, dict[str, Any]] = {}
    for row in rows.values():
        if row.status == "DONE":
            results.update({r["request_index"]: r for r in row.results})
    turns = ctx.runtime.connectors.turns(str(conn.id))

    # At most as many chunks of a job in progress as there are turns: no intent is committed
    # long before its chunk can have a turn (a SENT chunk is searched for on resume).
    ahead = asyncio.Semaphore(turns.capacity)

    async def run_chunk(k: int, items: list[Item]) -> None:
        async with ahead:
            await _run_chunk(k, items)

    async def _run_chunk(k: int, items: list[Item]) -> None:
        # The intent is committed before the turn is taken, so a turn is held for vendor
        # calls only, never while this commit queues behind other writers; it stays good for
        # the first send if the turn comes soon enough (JobContext.intent_fresh).
        committed: float | None = None
        if any(i.spec is not None for i in items):
            committed = await ctx.mark_chunk_sent(k)

        async def intent() -> None:
            nonlocal committed
            if committed is None or not ctx.intent_fresh(committed):
                await ctx.mark_chunk_sent(k)
            committed = None  # a later send (after an ambiguous failure) commits anew

        # A turn covers the vendor calls only, so store work never keeps a turn from another
        # job; the chunks of one job wait for turns with no database session held.
        async with turns.turn(job.id):
            created = await create_exactly_once(
                connector, items, search_first=search_first[k], before_send=intent
            )
            outcomes = await complete(connector, items, created)
        # The tickets, the chunk's results and the job's progress: one commit.
        async with ctx.session() as s:
            ticket_ids = await persist(s, conn, items, outcomes, links)
            settled = settled_items(items, outcomes, ticket_ids)
            tag = bulk_tag("job", job.id)
            await settle_bulk(s, conn.account_id, conn.id, tag, settled, given)
            chunk = [result(i, outcomes.get(i.index), ticket_ids.get(i.index)) for i in items]
            if not await JobChunkRepository(s).mark_done(job.id, k, ctx.owner, chunk):
                raise LeaseLost(str(job.id))
            results.update({r["request_index"]: r for r in chunk})
            if len(results) == len(tickets) and uncommitted == {k}:
                # Every other chunk is committed: the job finishes in this commit.
                await ctx.finish(s, _ordered(results))
            elif len(results) < len(tickets):  # else the job's finish records them
                await ctx.save_progress(len(results), _ordered(results), session=s)
        uncommitted.discard(k)

    uncommitted = set(search_first)
    try:
        async with asyncio.TaskGroup() as group:
            for k, chunk_range in enumerate(ranges):
                if k in uncommitted:
                    group.create_task(run_chunk(k, [prepared[i] for i in chunk_range]))
    except ExceptionGroup as eg:  # the runner decides on the first cause (retry or give up)
        raise _first(eg) from None
    return _ordered(results)


def _first(eg: BaseExceptionGroup[Any]) -> BaseException:
    exc: BaseException = eg
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def _ordered(results: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [results[i] for i in sorted(results)]


async def give_up_create(ctx: JobContext, reason: str) -> list[dict[str, Any]]:
    """After the last attempt: the finished chunks' results, every other item failed."""
    job = ctx.job
    tickets = list(job.payload.get("tickets") or [])
    identifiers = list(job.payload.get("identifiers") or [None] * len(tickets))
    async with ctx.session() as s:
        rows = await JobChunkRepository(s).for_job(job.id)
    results: dict[int, dict[str, Any]] = {}
    for row in rows.values():
        if row.status == "DONE":
            results.update({r["request_index"]: r for r in row.results})
    unsettled = {}
    for index in range(len(tickets)):
        if index not in results and identifiers[index] is not None:
            unsettled[identifiers[index]] = False  # sent, maybe: reported with its identifier
        results.setdefault(index, _failed(index, identifiers[index], reason))
    if unsettled:
        async with ctx.session() as s:
            tag = bulk_tag("job", job.id)
            await settle_bulk(s, job.account_id, job.connection_id, tag, unsettled)
    return _ordered(results)


# -- bulk update --------------------------------------------------------------------------------
def _updated(ticket_id: str, key: str | None, error: str | None) -> dict[str, Any]:
    return {
        "success": error is None,
        "ticket_id": ticket_id,
        "vendor_ticket_id": key,
        "error": error,
    }


async def run_update(ctx: JobContext) -> list[dict[str, Any]]:
    job = ctx.job
    ids = [str(t) for t in job.payload.get("ticket_ids") or []]
    conn = await _connection(ctx)
    if conn is None:
        return [_updated(t, None, "connection not found or disabled") for t in ids]
    updates = TicketUpdate.model_validate(job.payload.get("updates") or {})
    async with ctx.session() as s:
        try:
            spec = await resolve_update(s, conn, updates)
        except (NotFound, Unprocessable) as exc:
            return [_updated(t, None, exc.message) for t in ids]
        repo = TicketRepository(s)
        tickets = {t: await repo.get(conn.id, uuid.UUID(t)) for t in ids}
    errors: dict[str, str] = {
        t: "ticket not found in this connection" for t, row in tickets.items() if row is None
    }
    connector = for_connection(conn, ctx.runtime)
    vendor_of = {t: row.vendor_id for t, row in tickets.items() if row is not None}
    current = await connector.read_issues(list(vendor_of.values()))
    refs: dict[str, IssueRef] = {}
    for t, vendor_id in vendor_of.items():
        issue = current.get(vendor_id)
        if issue is None:
            errors[t] = f"the issue no longer exists in {connector.capabilities.display_name}"
        else:
            refs[t] = IssueRef(issue.vendor_id, issue.vendor_key, issue.status)
    if spec.status is not UNSET:
        moved = await connector.bulk_set_status(list(refs.values()), spec.status)
        _collect(refs, moved, errors)
    edited = await connector.bulk_edit_fields([r for t, r in refs.items() if t not in errors], spec)
    _collect(refs, edited, errors)
    done = [r.vendor_id for t, r in refs.items() if t not in errors]
    issues = await connector.read_issues(done, spec.custom_fields)
    async with ctx.session() as s:
        await TicketRepository(s).upsert_from_vendor(conn.id, list(issues.values()))
    keys = {t: r.key for t, r in refs.items()}
    return [_updated(t, keys.get(t), errors.get(t)) for t in ids]


def _collect(
    refs: dict[str, IssueRef], outcome: dict[str, str | None], errors: dict[str, str]
) -> None:
    for t, ref in refs.items():
        error = outcome.get(ref.vendor_id)
        if error is not None and t not in errors:
            errors[t] = error


async def give_up_update(ctx: JobContext, reason: str) -> list[dict[str, Any]]:
    return [_updated(str(t), None, reason) for t in ctx.job.payload.get("ticket_ids") or []]
