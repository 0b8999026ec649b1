"""When a create must ask Jira whether an identifier is taken, and when the store can say.

An identifier is unique per connection, and a duplicate must be refused before Jira is
called. The store knows every identifier a single create recorded; Jira can hold more: an
issue created whose store write never happened (an ambiguous failure, a crash), found only
by its marker label, with a JQL search. A single create therefore searches only when the
store cannot vouch for the identifier:

* its reservation (``idempotency.service.reserve``) was left by an earlier attempt whose
  work may have reached Jira (``slot.unsettled``), or
* the connection is *unjournaled*: a path that does not reserve identifiers has created
  issues on it (bulk creates, which search for their own markers), or it dates from before
  this journal (migration 0004 marks every connection that existed then).

The unjournaled mark is one row of ``idempotency_keys`` per connection (route
:data:`ROUTE`), never removed while the connection exists.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.idempotency.repository import IdempotencyRepository
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Connection, IdempotencyKey

ROUTE = "tickets.identifiers"
KEY = "unjournaled"
STATUS = "UNJOURNALED"
# The mark is permanent; the column wants an expiry and purges never look at this route.
_FOREVER = timedelta(days=365 * 100)
# Connections known unjournaled in this process (the mark is never removed, so this never
# goes stale; a journaled connection is read every time, so a mark made by another process
# counts at once).
_unjournaled: set[uuid.UUID] = set()


async def store_vouches(session: AsyncSession, conn: Connection) -> bool:
    """Whether every identifier that reached Jira on ``conn`` went through the reservation
    journal (then the store, with the reservation rows, knows them all)."""
    if conn.id in _unjournaled:
        return False
    marked = await IdempotencyRepository(session).exists(conn.account_id, conn.id, ROUTE, KEY)
    if marked:
        _unjournaled.add(conn.id)
    return not marked


async def mark_unjournaled(session: AsyncSession, conn: Connection) -> None:
    """Record in ``session``'s transaction that ``conn``'s identifiers may reach Jira without
    a reservation. Bulk creates call it before any vendor call, in a transaction committed
    before that call (the job row's, or a short one of its own)."""
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
