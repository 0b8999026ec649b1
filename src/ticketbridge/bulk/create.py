"""Bulk create, shared by the synchronous route and the async job.

1. :func:`prepare`: each item is validated on its own (``TicketCreate``), then all of them
   are resolved together (:mod:`bulk.resolve`: one store query per kind of reference, the
   single-create resolver's rules and texts); an invalid item gets its error and is not sent.
2. :func:`create_exactly_once`: one vendor bulk call per chunk of 50 (``POST /issue/bulk`` in
   Jira). Every issue carries its marker (``connectors.marker_label(connection, identifier)``,
   the single-create convention). On an ambiguous failure (5xx, timeout, lost answer) and on
   resume, the chunk's markers are searched first and only the missing items are sent again.
3. :func:`complete`: the stored view of each created issue is built from the request, the
   catalog and the vendor's answer (``connector.created_issue``: no read-back; what only the
   vendor knows arrives with the next sync). Only items asking for a status other than the
   initial one cost more calls: their current state is read (one search), moved (bulk
   transition) and read again. :func:`persist` then stores them all (no per-ticket flush).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.bulk.resolve import Wanted, resolve_many
from ticketbridge.connectors import (
    BulkConnector,
    Capabilities,
    Connector,
    Created,
    CreateSpec,
    IssueRef,
    NormalizedIssue,
    UpdateSpec,
    marker_label,
)
from ticketbridge.errors import VendorError, VendorTimeout, VendorUnavailable
from ticketbridge.logging import get_logger
from ticketbridge.store.models import Connection
from ticketbridge.tickets.repository import LinkCache, TicketRepository
from ticketbridge.tickets.schemas import TicketCreate
from ticketbridge.tickets.service import generate_identifier

log = get_logger(__name__)

# Items per job chunk (one ``job_chunks`` row): fixed, so a resumed job finds its chunks again.
# Each chunk goes to the vendor in calls of at most ``connector.bulk_create_max`` items.
CHUNK_SIZE = 50
SEND_ATTEMPTS = 3
# Jira's search index lags writes by a moment: wait this long before searching for markers
# after an ambiguous failure (the emulator is consistent at once; Jira Cloud usually < 1 s).
SETTLE_SECS = 1.0
AMBIGUOUS = (VendorUnavailable, VendorTimeout)


@dataclass
class Item:
    index: int  # request_index
    identifier: str
    marker: str
    given: bool = False  # the caller chose the identifier (it may collide; generated ones don't)
    spec: CreateSpec | None = None
    persist: bool = False  # the created ticket is stored (with its identifier)
    vendor_form: bool = False  # vendor ids only: the result shows no ticket_id (the spec)
    type_name: str | None = None  # what the stored ticket's ``type`` says, when known
    parent_key: str | None = None  # the parent's key, when known
    error: str | None = None


@dataclass
class Outcome:
    key: str | None = None
    vendor_id: str | None = None
    issue: NormalizedIssue | None = None  # what the store keeps of it
    read_back: bool = False  # ``issue`` is Jira's own view (else built from the request)
    error: str | None = None
    ambiguous: bool = False  # the vendor call failed with no answer: it may exist anyway


class BulkCreateConnector(BulkConnector, Protocol):
    """What bulk creation asks of a connector: the bulk capability and issue type names."""

    capabilities: Capabilities

    async def issue_type_names(self, project: str | None) -> dict[str, str]: ...


class CachingConnector:
    """Asks the vendor for a project's issue types once per request, not once per item (the
    single-create resolver looks them up for every ``type`` name on a vendor-id project).
    A failed lookup is remembered too: every item that needs it gets the same error without
    another round of retries, and items that do not need it go on. Everything else goes to
    the connector as it is."""

    def __init__(self, base: Connector) -> None:
        self._base = base
        self.bulk_create_max = base.bulk_create_max
        self.capabilities = base.capabilities
        self._types: dict[str | None, dict[str, str] | VendorError] = {}

    async def issue_type_names(self, project: str | None) -> dict[str, str]:
        if project not in self._types:
            try:
                self._types[project] = await self._base.issue_type_names(project)
            except VendorError as exc:
                self._types[project] = exc
        found = self._types[project]
        if isinstance(found, VendorError):
            raise found
        return found

    async def bulk_create_issues(self, specs: Sequence[CreateSpec]) -> list[Created]:
        return await self._base.bulk_create_issues(specs)

    async def find_markers(self, markers: Sequence[str]) -> dict[str, Created]:
        return await self._base.find_markers(markers)

    def created_issue(
        self,
        spec: CreateSpec,
        created: Created,
        *,
        type_name: str | None = None,
        parent_key: str | None = None,
    ) -> NormalizedIssue:
        return self._base.created_issue(spec, created, type_name=type_name, parent_key=parent_key)

    async def read_issues(
        self, vendor_ids: Sequence[str], custom_fields: Iterable[str] = ()
    ) -> dict[str, NormalizedIssue]:
        return await self._base.read_issues(vendor_ids, custom_fields)

    async def bulk_set_status(self, refs: Sequence[IssueRef], status: str) -> dict[str, str | None]:
        return await self._base.bulk_set_status(refs, status)

    async def bulk_edit_fields(
        self, refs: Sequence[IssueRef], spec: UpdateSpec
    ) -> dict[str, str | None]:
        return await self._base.bulk_edit_fields(refs, spec)


def assign_identifiers(tickets: Sequence[Any]) -> list[str]:
    """The caller's identifier, or a generated one (fixed once: the markers derive from it)."""
    out = []
    for raw in tickets:
        given = raw.get("identifier") if isinstance(raw, dict) else None
        out.append(given if isinstance(given, str) and given else generate_identifier())
    return out


def chunks(total: int) -> list[range]:
    return [range(s, min(total, s + CHUNK_SIZE)) for s in range(0, total, CHUNK_SIZE)]


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def duplicate_errors(identifiers: Sequence[str]) -> dict[int, str]:
    first: dict[str, int] = {}
    out: dict[int, str] = {}
    for index, identifier in enumerate(identifiers):
        if identifier in first:
            out[index] = (
                f"identifier {identifier!r} is already used by request_index "
                f"{first[identifier]} of this request"
            )
        else:
            first[identifier] = index
    return out


async def prepare(
    session: AsyncSession,
    connector: BulkCreateConnector,
    conn: Connection,
    tickets: Sequence[Any],
    identifiers: Sequence[str],
    indexes: Sequence[int],
    *,
    check_vendor: bool = True,
    links: LinkCache | None = None,
) -> list[Item]:
    """Validate and resolve the items: any failure, Jira's included (a lookup answering 503
    or 429 past the retries), is that item's error, never the request's.

    A caller's identifier must be new: not in the store, and (``check_vendor``) not on an
    issue in Jira, found by its marker with one search for the whole chunk. A resumed job
    chunk passes ``check_vendor=False``: its own earlier attempt may have created the issue."""
    dupes = duplicate_errors(identifiers)
    items: dict[int, Item] = {}
    valid: list[Wanted] = []
    scope = str(conn.id)
    for index in indexes:
        identifier = identifiers[index]
        item = Item(index, identifier, marker_label(scope, identifier))
        item.given = (
            isinstance(tickets[index], dict) and tickets[index].get("identifier") == identifier
        )
        items[index] = item
        try:
            data = TicketCreate.model_validate(tickets[index])
        except ValidationError as exc:
            item.error = validation_message(exc)
            continue
        if index in dupes:
            item.error = dupes[index]
            continue
        valid.append(Wanted(index, data, identifier, item.marker))
    taken = await TicketRepository(session).identifier_holders(
        conn.id, [w.data.identifier for w in valid if w.data.identifier]
    )
    for w in valid:
        if w.data.identifier in taken:
            items[w.index].error = already_exists(w.identifier)
    valid = [w for w in valid if items[w.index].error is None]
    resolved = await resolve_many(session, connector, conn, valid, links)
    for w in valid:
        item, found = items[w.index], resolved[w.index]
        if isinstance(found, str):
            item.error = found
            continue
        item.spec, item.type_name, item.parent_key = found.spec, found.type_name, found.parent_key
        # Stored whatever the form, so the identifier is unique and findable at once; the
        # response still shows ticket_id null for vendor-id forms, as the spec says.
        item.persist = True
        item.vendor_form = w.data.uses_vendor_ids_only
    out = list(items.values())
    if check_vendor:
        await _refuse_known_markers(connector, [i for i in out if i.given and i.spec])
    return out


def already_exists(identifier: str, key: str | None = None, vendor: str = "vendor") -> str:
    where = f" ({vendor} issue {key})" if key else ""
    return f"a ticket with identifier {identifier!r} already exists{where}"


async def _refuse_known_markers(connector: BulkCreateConnector, items: Sequence[Item]) -> None:
    """The store does not know issues created on the vendor-id path before they were
    stored (or whose read-back failed): Jira does, by the identifier's marker label."""
    if not items:
        return
    try:
        found = await connector.find_markers([i.marker for i in items])
    except VendorError as exc:  # uniqueness cannot be checked: create nothing
        for item in items:
            item.spec, item.error = None, exc.message
        return
    for item in items:
        if item.marker in found:
            item.spec, item.error = (
                None,
                already_exists(
                    item.identifier, found[item.marker].key, connector.capabilities.display_name
                ),
            )


async def create_exactly_once(
    connector: BulkCreateConnector,
    items: Sequence[Item],
    *,
    search_first: bool,
    before_send: Callable[[], Awaitable[None]] | None = None,
) -> dict[int, Created]:
    """Create the valid items of one chunk, each at most once: ``{request_index: Created}``.

    ``search_first`` (a resumed chunk whose intent was recorded) looks for every item's
    marker before sending anything, valid or not now (an item may have been sent by an
    earlier attempt). ``before_send`` runs before each vendor call (the job commits its
    intent there). Raises the vendor error when Jira stays unavailable."""
    out: dict[int, Created] = {}
    if search_first:
        found = await connector.find_markers([i.marker for i in items])
        for item in items:
            if item.marker in found:
                # Created by an earlier attempt: a success even if it would not validate now
                # (it is then not stored here; the next sync brings it).
                out[item.index] = found[item.marker]
                item.error = None
    pending = [i for i in items if i.spec is not None and i.index not in out]
    for attempt in range(1, SEND_ATTEMPTS + 1):
        if not pending:
            break
        if before_send is not None:
            await before_send()
        try:
            created = await _send(connector, [i.spec for i in pending if i.spec])
        except AMBIGUOUS as exc:
            if attempt == SEND_ATTEMPTS:
                raise
            log.info("bulk_create_ambiguous", error=exc.message, items=len(pending))
            await asyncio.sleep(SETTLE_SECS)
            found = await connector.find_markers([i.marker for i in pending])
            out.update({i.index: found[i.marker] for i in pending if i.marker in found})
            pending = [i for i in pending if i.index not in out]
            continue
        out.update({i.index: c for i, c in zip(pending, created, strict=True)})
        pending = []
    return out


async def _send(connector: BulkCreateConnector, specs: Sequence[CreateSpec]) -> list[Created]:
    """One vendor call per ``bulk_create_max`` specs (one call for a chunk of 50 in Jira). An
    ambiguous failure of any call raises: the caller searches every pending marker."""
    size = connector.bulk_create_max
    created: list[Created] = []
    for start in range(0, len(specs), size):
        created += await connector.bulk_create_issues(specs[start : start + size])
    return created


async def complete(
    connector: BulkCreateConnector, items: Sequence[Item], created: dict[int, Created]
) -> dict[int, Outcome]:
    """Per created item: what the store keeps of it, and a requested status applied."""
    out: dict[int, Outcome] = {}
    readers: list[Item] = []
    for item in items:
        c = created.get(item.index)
        if c is None:
            continue
        outcome = out[item.index] = Outcome(c.key, c.vendor_id, error=c.error)
        if c.error is not None or item.spec is None:
            continue  # refused, or created by an earlier attempt and invalid now
        if item.spec.status:
            readers.append(item)  # moving it needs its current state: Jira's view
        elif item.persist:
            # Built once with the catalog's type name and parent key (a dataclass copy per
            # item to add them was ~5% of a bulk/sync request's CPU).
            outcome.issue = connector.created_issue(
                item.spec, c, type_name=item.type_name, parent_key=item.parent_key
            )
    if not readers:
        return out
    extra = sorted({f for i in readers if i.spec for f in i.spec.custom_fields})
    issues = await connector.read_issues([str(out[i.index].vendor_id) for i in readers], extra)
    moved = await _apply_statuses(connector, readers, out, issues)
    if moved:
        issues.update(await connector.read_issues(moved, extra))
    for item in readers:
        outcome = out[item.index]
        if outcome.error is None and outcome.vendor_id is not None:
            outcome.issue = issues.get(outcome.vendor_id)
            outcome.read_back = True
    return out


async def _apply_statuses(
    connector: BulkCreateConnector,
    readers: Sequence[Item],
    out: dict[int, Outcome],
    issues: dict[str, NormalizedIssue],
) -> list[str]:
    """Bulk transitions grouped by target status. An item whose status cannot be reached is
    kept as Jira has it (like single create: a status never deletes a created issue)."""
    targets: dict[str, list[tuple[Item, IssueRef]]] = {}
    for item in readers:
        outcome, spec = out[item.index], item.spec
        issue = issues.get(str(outcome.vendor_id))
        if spec is None or not spec.status or issue is None or issue.status == spec.status:
            continue
        ref = IssueRef(issue.vendor_id, issue.vendor_key, issue.status)
        targets.setdefault(spec.status, []).append((item, ref))
    moved: list[str] = []
    for status, pairs in targets.items():
        errors = await connector.bulk_set_status([ref for _, ref in pairs], status)
        for _, ref in pairs:
            error = errors.get(ref.vendor_id)
            if error is not None:
                log.warning("bulk_create_status_not_reached", key=ref.key, reason=error)
            moved.append(ref.vendor_id)  # re-read either way: a walk may have moved it
    return moved


async def persist(
    session: AsyncSession,
    conn: Connection,
    items: Sequence[Item],
    outcomes: dict[int, Outcome],
    links: LinkCache | None = None,
) -> dict[int, uuid.UUID]:
    """Store the created tickets with their identifiers: those built from the request are
    inserted (a row the sync stored first is Jira's own view and stays), those read back are
    upserted (by vendor id: idempotent). A few statements per chunk, whatever its size;
    ``links``: the catalog ids :func:`prepare` read already."""
    keep = [
        (i, o)
        for i in items
        if i.persist and (o := outcomes.get(i.index)) and o.error is None and o.issue
    ]
    if not keep:
        return {}
    repo = TicketRepository(session)
    # The identifier goes in with the row; the insert leaves it out where another ticket
    # holds it (the vendor key or the row's UUID then), which the check below reports.
    built: list[NormalizedIssue] = []
    read: list[NormalizedIssue] = []
    for item, outcome in keep:
        issue = outcome.issue
        assert issue is not None
        if issue.identifier != item.identifier:  # a read-back issue carries none
            issue = replace(issue, identifier=item.identifier)
        (read if outcome.read_back else built).append(issue)
    stored = await repo.insert_created(conn.id, built, links) if built else {}
    for ticket in await repo.upsert_from_vendor(conn.id, read) if read else []:
        stored[ticket.vendor_id] = (ticket.id, ticket.identifier)
    out: dict[int, uuid.UUID] = {}
    mismatched: list[tuple[Item, uuid.UUID, str]] = []
    for item, outcome in keep:
        found = stored.get(str(outcome.vendor_id))
        if found is None:
            continue
        ticket_id, identifier = found
        if identifier == item.identifier:
            out[item.index] = ticket_id
        else:
            mismatched.append((item, ticket_id, identifier))
    if not mismatched:
        return out
    # Checked before the create; another request may have taken it since, or the sync
    # stored the issue first under another identifier.
    holders = await repo.identifier_holders(conn.id, [i.identifier for i, _, _ in mismatched])
    renames: dict[uuid.UUID, str] = {}
    for item, ticket_id, identifier in mismatched:
        holder = holders.get(item.identifier)
        if holder is not None and holder != ticket_id:
            outcomes[item.index].error = (
                f"identifier {item.identifier!r} was taken by another ticket meanwhile; "
                f"this one was created as {outcomes[item.index].key} and stored under the "
                f"identifier {identifier!r}"
            )
            continue
        renames[ticket_id] = item.identifier
        out[item.index] = ticket_id
    await repo.set_identifiers(conn.id, renames)
    return out


def result(item: Item, outcome: Outcome | None, ticket_id: uuid.UUID | None) -> dict[str, Any]:
    """One item's result, JSON-ready (job rows store it as is)."""
    error = item.error or (outcome.error if outcome else "the ticket was not created")
    if item.vendor_form:
        ticket_id = None  # stored, but the spec promises null for vendor-id forms
    return {
        "success": error is None,
        "request_index": item.index,
        "identifier": item.identifier,
        "vendor_ticket_id": outcome.key if outcome and error is None else None,
        "ticket_id": str(ticket_id) if ticket_id and error is None else None,
        "error": error,
    }
