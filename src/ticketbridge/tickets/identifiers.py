"""When a create must ask Jira whether an identifier is taken, and when the store can say.

An identifier is unique per connection, and a duplicate must be refused before Jira is
called. The store knows every identifier a create recorded; Jira can hold more: an issue
created whose store write never happened (an ambiguous failure, a crash), found only by its
marker label, with a JQL search. A single create therefore searches only when the store
cannot vouch for the identifier:

* its reservation (``idempotency.service.reserve``, route :data:`RESERVATION_ROUTE`) was left
  by an earlier attempt whose work may have reached Jira (``slot.unsettled``), or
* the connection is *unjournaled*: it dates from before this journal (migration 0004 marks
  every connection that existed then), or a release before bulk creates wrote the journal
  ran a bulk create on it. The mark is one row of ``idempotency_keys`` per connection
  (route :data:`ROUTE`), never removed while the connection exists.

Bulk creates write the same journal (:func:`journal_bulk`). A caller's identifier gets its
row before it is checked and sent, committed before any vendor call and tagged with the
request or job; it is removed once the item is settled (stored, or certainly not created) and
otherwise left ``UNSETTLED`` (or ``IN_PROGRESS`` after a crash, until its lease runs out):
what a single create's reservation leaves. A generated identifier cannot be claimed by anyone
before it is reported, so it gets a row only when its item is reported unsettled
(:func:`settle_bulk`, and a job given up). A later single create of an identifier with such
a row takes it over and searches Jira; of any other, it trusts the store.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.idempotency.repository import IN_PROGRESS, UNSETTLED, IdempotencyRepository
from ticketbridge.idempotency.service import CLAIM_LEASE, UNSETTLED_TTL
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Connection, IdempotencyKey
from ticketbridge.tickets.repository import TicketRepository

ROUTE = "tickets.identifiers"
RESERVATION_ROUTE = "tickets.identifier"  # the single create's reservations
KEY = "unjournaled"
STATUS = "UNJOURNALED"
# The mark is permanent; the column wants an expiry and purges never look at this route.
_FOREVER = timedelta(days=365 * 100)
# Connections known unjournaled in this process (the mark is never removed, so this never
# goes stale; a journaled connection is read every time, so a mark made by another process
# counts at once).
_unjournaled: set[uuid.UUID] = set()


async def store_vouches(session: AsyncSession, conn: Connection) -> bool:
    """Whether every identifier that reached Jira on ``conn`` went through the journal
    (then the store, with the journal's rows, knows them all)."""
    if conn.id in _unjournaled:
        return False
    marked = await IdempotencyRepository(session).exists(conn.account_id, conn.id, ROUTE, KEY)
    if marked:
        _unjournaled.add(conn.id)
    return not marked


async def identifier_state(
    session: AsyncSession, conn: Connection, identifier: str
) -> tuple[bool, bool]:
    """(whether a stored ticket holds ``identifier``, :func:`store_vouches`), asked in one
    statement: a single create with an identifier needs both before its vendor call."""
    repo = TicketRepository(session)
    if conn.id in _unjournaled:
        return await repo.identifier_taken(conn.id, identifier), False
    taken, marked = await repo.identifier_taken_and_marked(
        conn.id, identifier, account_id=conn.account_id, route=ROUTE, key=KEY
    )
    if marked:
        _unjournaled.add(conn.id)
    return taken, not marked


async def mark_unjournaled(session: AsyncSession, conn: Connection) -> None:
    """Record in ``session``'s transaction that ``conn``'s identifiers may have reached Jira
    without the journal (tests stand in for an older release with it)."""
    if not await store_vouches(session, conn):
        return  # marked already (committed)
    now = utcnow()
    await IdempotencyRepository(session).insert_ignore(
        IdempotencyKey(
            account_id=conn.account_id,
            connection_id=conn.id,
            route=ROUTE,
            key=KEY,
            request_hash="-",
            status=STATUS,
            response_body={},
            created_at=now,
            expires_at=now + _FOREVER,
        )
    )


def bulk_tag(kind: str, run: uuid.UUID) -> str:
    """What a bulk create's journal rows hold as ``request_hash``: they are its own until a
    single create takes one over."""
    return f"bulk-{kind}:{run}"


async def journal_bulk(
    session: AsyncSession,
    conn: Connection,
    identifiers: Iterable[str],
    *,
    tag: str,
    running: bool,
) -> set[str]:
    """Write the journal rows of a bulk create's caller-given identifiers in ``session`` (the
    caller commits before any vendor call): ``running`` (a request creating now) holds them
    for a lease like a single create's reservation; otherwise (a queued job) they are
    ``UNSETTLED`` from the start.

    Returns the identifiers a running single create holds: their items must not be sent. A
    row left by an earlier attempt stays as it is (the next single create checks Jira)."""
    keys = list(dict.fromkeys(identifiers))
    if not keys:
        return set()
    now = utcnow()
    status, expires = (
        (IN_PROGRESS, now + CLAIM_LEASE) if running else (UNSETTLED, now + UNSETTLED_TTL)
    )
    base = _row(conn.account_id, conn.id, tag, status, now, expires)
    repo = IdempotencyRepository(session)
    inserted = await repo.insert_many([{**base, "key": k} for k in keys])
    others = [k for k in keys if k not in inserted]
    held = set()
    for row in await repo.find_many(conn.account_id, conn.id, RESERVATION_ROUTE, others):
        expiry = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        if row.status == IN_PROGRESS and expiry > now:
            held.add(row.key)
    return held


async def settle_bulk(
    session: AsyncSession,
    account_id: uuid.UUID,
    connection_id: uuid.UUID,
    tag: str,
    settled: Mapping[str, bool],
    journaled: Collection[str] | None = None,
) -> None:
    """In ``session``'s transaction (the one storing the tickets): remove this run's rows of
    the settled identifiers (``True``; only those in ``journaled`` have one, when given); the
    others are left ``UNSETTLED`` for the next single create to check Jira (a row is written
    for those that had none: generated ones). No statement when there is nothing to do."""
    remove = [k for k, done in settled.items() if done and (journaled is None or k in journaled)]
    unsettle = [k for k, done in settled.items() if not done]
    now = utcnow()
    repo = IdempotencyRepository(session)
    await repo.settle_tagged(
        account_id,
        connection_id,
        RESERVATION_ROUTE,
        tag,
        remove=remove,
        unsettle=unsettle,
        expires_at=now + UNSETTLED_TTL,
    )
    if unsettle:
        base = _row(account_id, connection_id, tag, UNSETTLED, now, now + UNSETTLED_TTL)
        await repo.insert_many([{**base, "key": k} for k in unsettle])


def _row(
    account_id: uuid.UUID,
    connection_id: uuid.UUID,
    tag: str,
    status: str,
    now: datetime,
    expires: datetime,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "connection_id": connection_id,
        "route": RESERVATION_ROUTE,
        "request_hash": tag,
        "status": status,
        "response_status": None,
        "response_body": {},
        "created_at": now,
        "expires_at": expires,
    }


def settled_items(
    items: Sequence[Any], outcomes: Mapping[int, Any], stored: Mapping[int, Any]
) -> dict[str, bool]:
    """``{identifier: settled}`` of a bulk create's items: stored, or certainly not created
    (never sent, or refused by the vendor item by item); anything else may be in Jira only."""
    out: dict[str, bool] = {}
    for item in items:
        outcome = outcomes.get(item.index)
        done = (
            item.index in stored
            or outcome is None
            or (outcome.error is not None and outcome.key is None and not outcome.ambiguous)
        )
        out[item.identifier] = out.get(item.identifier, True) and done
    return out


def given_identifiers(tickets: Sequence[Any], identifiers: Sequence[str]) -> list[str]:
    """The identifiers the caller chose (the others were generated for this bulk create)."""
    return [
        identifier
        for raw, identifier in zip(tickets, identifiers, strict=True)
        if isinstance(raw, dict) and raw.get("identifier") == identifier
    ]
