"""Bulk entry points: synchronous bulk create, and enqueueing the async bulk jobs.

The service never commits: the request's unit of work does (a job row is committed before
the runner hears of it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.bulk.create import (
    CachingConnector,
    Item,
    Outcome,
    assign_identifiers,
    chunks,
    complete,
    create_exactly_once,
    persist,
    prepare,
    result,
)
from ticketbridge.bulk.jobs import chunk_markers
from ticketbridge.bulk.schemas import (
    JOB_BULK_CREATE,
    JOB_BULK_UPDATE,
    BulkCreateResponse,
    BulkUpdateRequest,
    summary,
)
from ticketbridge.connectors import for_connection
from ticketbridge.errors import Unprocessable, VendorError
from ticketbridge.jobs.repository import JobChunkRepository
from ticketbridge.jobs.service import create_job
from ticketbridge.logging import get_logger
from ticketbridge.store.base import uuid7
from ticketbridge.store.models import Connection, Job
from ticketbridge.store.session import release_connection
from ticketbridge.tickets.identifiers import (
    bulk_tag,
    given_identifiers,
    journal_bulk,
    settle_bulk,
    settled_items,
)
from ticketbridge.tickets.repository import LinkCache
from ticketbridge.tickets.service import resolve_update

if TYPE_CHECKING:
    from ticketbridge.runtime import Runtime

log = get_logger(__name__)

BEING_CREATED = "a ticket with this identifier is being created; retry later"


def check_size(runtime: Runtime, count: int, field: str) -> None:
    cap = runtime.settings.bulk_max_tickets
    if count > cap:
        raise Unprocessable(f"{field}: at most {cap} per request, got {count}", field=field)


async def create_sync(
    session: AsyncSession, runtime: Runtime, conn: Connection, tickets: Sequence[Any]
) -> BulkCreateResponse:
    """Create now; 200 whatever the items' fates (each item's error is in its result).

    Chunks of 50 go to Jira concurrently, bounded by the connection's vendor limiter."""
    check_size(runtime, len(tickets), "tickets")
    identifiers = assign_identifiers(tickets)
    # The identifiers are journaled (committed) before they are checked and sent, like a
    # single create's reservation (tickets/identifiers.py).
    tag = bulk_tag("sync", uuid7())
    held: set[str] = set()
    given = set(given_identifiers(tickets, identifiers))
    if given:
        async with runtime.session() as own:
            held = await journal_bulk(own, conn, given, tag=tag, running=True)
    try:
        connector = CachingConnector(for_connection(conn, runtime))
        links = LinkCache()
        items = await prepare(
            session, connector, conn, tickets, identifiers, range(len(tickets)), links=links
        )
        for item in items:
            if item.identifier in held and item.error is None:
                item.spec, item.error = None, BEING_CREATED
        groups = [[items[i] for i in r] for r in chunks(len(items))]
        outcomes: dict[int, Outcome] = {}
        await release_connection(session)
        for part in await asyncio.gather(*(_create_group(connector, g) for g in groups)):
            outcomes.update(part)
        ticket_ids = await persist(session, conn, items, outcomes, links)
        settled = settled_items(items, outcomes, ticket_ids)
        await settle_bulk(session, conn.account_id, conn.id, tag, settled, given)
    except BaseException:
        # Whatever was sent may be in Jira only: the journal says so at once (not only when
        # the rows' lease runs out).
        await session.rollback()
        async with runtime.session() as own:
            # (Generated identifiers too: the caller may learn them from an error report.)
            await settle_bulk(own, conn.account_id, conn.id, tag, dict.fromkeys(identifiers, False))
        raise
    return summary([result(i, outcomes.get(i.index), ticket_ids.get(i.index)) for i in items])


async def _create_group(connector: CachingConnector, items: list[Item]) -> dict[int, Outcome]:
    try:
        created = await create_exactly_once(connector, items, search_first=False)
    except VendorError as exc:  # Jira stayed unavailable; the markers showed nothing created
        log.warning("bulk_sync_chunk_failed", error=exc.message)
        return {
            i.index: Outcome(error=exc.message, ambiguous=True) for i in items if i.spec is not None
        }
    try:
        return await complete(connector, items, created)
    except VendorError as exc:  # created, but not read back: reported without a ticket_id
        log.warning("bulk_sync_read_back_failed", error=exc.message)
        return {k: Outcome(c.key, c.vendor_id, error=c.error) for k, c in created.items()}


async def enqueue_create(
    session: AsyncSession, runtime: Runtime, conn: Connection, tickets: Sequence[Any]
) -> Job:
    check_size(runtime, len(tickets), "tickets")
    # Identifiers are fixed now: every attempt of the job derives the same markers from them.
    identifiers = assign_identifiers(tickets)
    payload = {"tickets": list(tickets), "identifiers": identifiers}
    job = await create_job(
        session,
        account_id=conn.account_id,
        connection_id=conn.id,
        job_type=JOB_BULK_CREATE,
        payload=payload,
        total=len(tickets),
    )
    # Journaled with the job row, before it can run (tickets/identifiers.py).
    given = given_identifiers(tickets, identifiers)
    await journal_bulk(session, conn, given, tag=bulk_tag("job", job.id), running=False)
    # Its chunk rows go in with it: the runner starts on them without a write of its own.
    await JobChunkRepository(session).ensure(job.id, chunk_markers(conn.id, identifiers))
    return job


async def enqueue_update(
    session: AsyncSession, runtime: Runtime, conn: Connection, body: BulkUpdateRequest
) -> Job:
    ticket_ids = list(dict.fromkeys(body.ticket_ids))  # one result per distinct ticket
    check_size(runtime, len(ticket_ids), "ticket_ids")
    # Resolve now so a bad assignee or tag is a 404/422 here rather than N failed items.
    await resolve_update(session, conn, body.updates)
    payload = {
        "ticket_ids": [str(t) for t in ticket_ids],
        "updates": body.updates.model_dump(mode="json", exclude_unset=True),
    }
    return await create_job(
        session,
        account_id=conn.account_id,
        connection_id=conn.id,
        job_type=JOB_BULK_UPDATE,
        payload=payload,
        total=len(ticket_ids),
    )
