"""Ticket writes, vendor-first: resolve the request, write to the vendor, store its view.

UUID forms (``project_id``, ``type``/``type_id``, ``assigned_user_id``, ``parent_ticket_id``)
are resolved from the store, scoped to the connection (another connection's UUID is a 404).
Vendor-id forms go to the vendor as they are (checked against its id grammar): no store
lookup happens before the vendor call. Which fields a create needs depends on the vendor
(``Capabilities``: Jira needs a project and an issue type). The service never commits: the
request's unit of work does, after the handler returns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.catalog.repository import CatalogRepository
from ticketbridge.connectors import (
    UNSET,
    Capabilities,
    Connector,
    CreateSpec,
    NormalizedIssue,
    Unset,
    UpdateSpec,
    check_vendor_id,
    for_connection,
    is_marker_label,
    marker_label,
)
from ticketbridge.errors import Conflict, NotFound, Unprocessable, VendorNotFound, VendorRejected
from ticketbridge.idempotency.service import Slot, reserve
from ticketbridge.store.base import uuid7
from ticketbridge.store.models import Connection, Ticket
from ticketbridge.store.session import release_connection
from ticketbridge.tickets.identifiers import RESERVATION_ROUTE, identifier_state
from ticketbridge.tickets.repository import LinkCache, TicketRepository
from ticketbridge.tickets.schemas import REQUIRED_FORMS, TicketCreate, TicketRead, TicketUpdate

if TYPE_CHECKING:
    from ticketbridge.runtime import Runtime

IDENTIFIER_ROUTE = RESERVATION_ROUTE
GENERATED_PREFIX = "tb-"


@dataclass
class Seen:
    """What resolving a create learned that the vendor's create answer does not repeat (the
    stored ticket of a create that is not read back needs it)."""

    type_names: dict[str, str] = field(default_factory=dict)  # issue type vendor id -> name
    parent_key: str | None = None  # of a parent given by UUID


class IssueTypeNames(Protocol):
    """The one vendor call the create resolver makes (bulk passes a caching wrapper), and
    what it must know of the vendor."""

    capabilities: Capabilities

    async def issue_type_names(self, project: str | None) -> dict[str, str]: ...


# Vendor-id fields and the id kind each holds (``connectors.check_vendor_id``).
VENDOR_ID_KINDS = (
    ("project_vendor_id", "project"),
    ("type_vendor_id", "issue_type"),
    ("assigned_user_vendor_id", "account"),
    ("parent_ticket_vendor_id", "issue"),
)


def require_forms(data: TicketCreate, capabilities: Capabilities) -> None:
    """A 422 naming every form of each field the vendor requires and the body left out."""
    required = []
    if capabilities.projects:
        required.append(REQUIRED_FORMS["project"])
    if capabilities.issue_type_required:
        required.append(REQUIRED_FORMS["type"])
    items = []
    for forms in required:
        if all(getattr(data, f) is None for f in forms):
            message = f"one of {', '.join(forms[:-1])} or {forms[-1]} is required"
            # The deprecated type_id is accepted but not advertised in the error's loc.
            items += [
                {"loc": ["body", f], "msg": message, "type": "missing"}
                for f in forms
                if f != "type_id"
            ]
    if items:
        error = Unprocessable(str(items[0]["msg"]))
        error.detail = items
        raise error


def check_vendor_forms(vendor: str, data: TicketCreate | TicketUpdate) -> None:
    """The request schemas accept the ids of any registered vendor; the connection's own
    grammar decides (a 422 naming the field before anything is sent)."""
    for name, kind in VENDOR_ID_KINDS:
        value = getattr(data, name, None)
        if value is None:
            continue
        try:
            check_vendor_id(vendor, kind, value)
        except ValueError as exc:
            raise Unprocessable(f"{name}: {exc}", field=name) from None
    for key in data.custom_fields or {}:
        try:
            check_vendor_id(vendor, "custom_field", key)
        except ValueError as exc:
            raise Unprocessable(
                f"custom_fields: {key[:64]!r} {exc}", field=("custom_fields", key[:64])
            ) from None


def generate_identifier() -> str:
    """A fresh identifier for a ticket created without one (time-ordered, never reused)."""
    return f"{GENERATED_PREFIX}{uuid7().hex}"


# -- create ------------------------------------------------------------------------------------
async def create_ticket(
    session: AsyncSession, runtime: Runtime, conn: Connection, data: TicketCreate
) -> TicketRead:
    connector = for_connection(conn, runtime)
    # Before anything is looked up or sent.
    require_forms(data, connector.capabilities)
    check_vendor_forms(conn.vendor, data)
    if data.identifier is None:
        # A generated identifier cannot collide: no reservation, no store lookup.
        return await _create(session, connector, conn, data, generate_identifier())
    async with reserve(
        runtime,
        session,
        account_id=conn.account_id,
        connection_id=conn.id,
        route=IDENTIFIER_ROUTE,
        value=data.identifier,
        in_progress="a ticket with this identifier is being created; retry later",
    ) as slot:
        # Checked before Jira is called, so a client retrying with its identifier never
        # creates a second issue.
        taken, vouches = await identifier_state(session, conn, data.identifier)
        if taken:
            raise Conflict(f"a ticket with identifier {data.identifier!r} already exists")
        # Jira may hold it where the store does not (an earlier attempt failed after its
        # create, or a bulk create did not record it): then ask Jira, by the identifier's
        # marker label (tickets/identifiers.py says when the store can vouch instead).
        if slot.unsettled or not vouches:
            found = await connector.find_by_marker(marker_label(str(conn.id), data.identifier))
            if found:
                raise Conflict(
                    f"a ticket with identifier {data.identifier!r} already exists "
                    f"({connector.capabilities.display_name} issue {found[0]})"
                )
        return await _create(session, connector, conn, data, data.identifier, slot)


async def _create(
    session: AsyncSession,
    connector: Connector,
    conn: Connection,
    data: TicketCreate,
    identifier: str,
    slot: Slot | None = None,
) -> TicketRead:
    seen = Seen()
    spec = await resolve_create(session, connector, conn, data, identifier=identifier, seen=seen)
    await release_connection(session)
    if slot is not None:
        slot.sent = True  # from here a failure may leave the issue in Jira only
    try:
        issue = await connector.create_issue(spec)
    except VendorRejected as exc:
        if "project" in exc.errors:  # the vendor cannot see the project: the caller's field
            raise unknown_project(
                data, spec.project or "", exc.errors["project"], connector.capabilities
            ) from None
        raise
    repo = TicketRepository(session)
    issue = replace(issue, identifier=identifier)
    if issue.vendor_updated_at is None:
        # Built from the request and the vendor's ids (no read-back, connectors/jira/
        # created.py): inserted, never over a row the sync stored first from Jira's view.
        # The answer is the stored row's read columns, as GET reads it (no ORM object).
        ticket_id, held, row = await store_created(session, conn, spec, issue, seen)
        if held != identifier:  # another ticket held the value when the row went in
            await repo.set_identifiers(conn.id, {ticket_id: identifier})
            row = None
        if row is None:  # stored before (by the sync), or changed since the INSERT returned
            row = await repo.read_row(conn.id, ticket_id)
        assert row is not None  # inserted or found in this transaction
        return TicketRead.from_row(row)
    ticket = await store_issue(session, conn, issue)
    # The identifier goes in with the insert (no UPDATE after it); set_identifier is then a
    # no-op unless another ticket held the value.
    await repo.set_identifier(ticket, identifier)
    return TicketRead.from_model(ticket)


async def store_created(
    session: AsyncSession,
    conn: Connection,
    spec: CreateSpec,
    issue: NormalizedIssue,
    seen: Seen,
) -> tuple[uuid.UUID, str, dict[str, Any] | None]:
    """Store a just-created issue known from the request: (its ticket id, the identifier
    it holds, its read row when inserted now: the INSERT returns it). Its ``type`` is the
    name the resolver met, else the catalog's; a parent given by UUID is linked by its key.
    Its identifier was checked free under the caller's reservation, or generated."""
    repo = TicketRepository(session)
    if spec.parent and issue.parent_ticket_vendor_id is None:
        # A parent by UUID or by numeric id: the stored ticket links it by key.
        key = seen.parent_key
        if key is None and (parent := await repo.get_by_vendor_id(conn.id, spec.parent)):
            key = parent.vendor_key
        issue = replace(issue, parent_ticket_vendor_id=key)
    cache = LinkCache()
    refs = (
        await CatalogRepository(session).create_refs(conn.id, spec.project, issue.type_vendor_id)
        if spec.project
        else None
    )
    if refs is not None:  # the links the insert would look up, read with the type's name
        cache.projects[refs.project_key] = refs.project_id
        if refs.type_id is not None and issue.type_vendor_id:
            cache.types[(refs.project_id, issue.type_vendor_id)] = refs.type_id
    if issue.type is None:
        name = seen.type_names.get(issue.type_vendor_id or "")
        issue = replace(issue, type=name or (refs.type_name if refs else None))
    rows: dict[str, dict[str, Any]] = {}
    stored = await repo.insert_created(conn.id, [issue], cache, free=True, read_rows=rows)
    ticket_id, held = stored[issue.vendor_id]
    return ticket_id, held, rows.get(issue.vendor_id)


async def resolve_create(
    session: AsyncSession,
    connector: IssueTypeNames,
    conn: Connection,
    data: TicketCreate,
    *,
    identifier: str,
    seen: Seen | None = None,
) -> CreateSpec:
    """``TicketCreate`` -> ``CreateSpec`` (every UUID form resolved; vendor ids untouched).
    ``seen`` receives what the resolver learned that the vendor's create answer lacks.

    Bulk creation calls this per item. Raises NotFound (a UUID not in this connection) or
    Unprocessable (a field the vendor requires, a vendor id of the wrong grammar, unknown
    issue type name, reserved tag)."""
    require_forms(data, connector.capabilities)
    check_vendor_forms(conn.vendor, data)
    seen = seen if seen is not None else Seen()
    catalog = CatalogRepository(session)
    project_uuid: uuid.UUID | None = None
    project_ref: str | None = data.project_vendor_id  # None: a vendor without projects
    if data.project_id is not None:
        project = await catalog.get_project(conn.id, data.project_id)
        if project is None:
            raise NotFound(f"project_id: project {data.project_id} not found")
        project_ref, project_uuid = project.key, project.id
    return CreateSpec(
        project=project_ref,
        issue_type_id=await _issue_type(
            catalog, connector, conn, data, project_ref, project_uuid, seen.type_names
        ),
        name=data.name,
        description=data.description,
        status=data.status.value if data.status else None,
        priority=data.priority.value if data.priority else None,
        assignee=await _assignee(
            catalog, conn, data.assigned_user_id, data.assigned_user_vendor_id
        ),
        parent=await _parent(session, conn, data, seen),
        tags=check_tags(data.tags),
        due_date=data.due_date,
        custom_fields=dict(data.custom_fields or {}),
        identifier=identifier,
        marker=marker_label(str(conn.id), identifier),
    )


async def _issue_type(
    catalog: CatalogRepository,
    connector: IssueTypeNames,
    conn: Connection,
    data: TicketCreate,
    project_ref: str | None,
    project_uuid: uuid.UUID | None,
    seen: dict[str, str],
) -> str | None:
    if data.type_vendor_id is not None:
        return data.type_vendor_id
    # ``type`` holds a name or, like the deprecated ``type_id``, a synced issue type's UUID.
    type_uuid, field = (data.type_id, "type_id") if data.type_id else (data.type_uuid, "type")
    if type_uuid is not None:
        found = await catalog.get_issue_type(conn.id, type_uuid)
        if found is None:
            raise NotFound(f"{field}: issue type {type_uuid} not found")
        seen[found.vendor_id] = found.name
        return found.vendor_id
    if data.type is None:
        return None  # the vendor's default type (require_forms refused it where required)
    names: dict[str, str] = {}
    if project_uuid is not None:
        names = {
            t.name: t.vendor_id for t in await catalog.active_issue_types(conn.id, project_uuid)
        }
    if not names:
        # A vendor-id project (or one whose issue types were never synced): ask the vendor.
        await release_connection(catalog.session)
        try:
            names = await connector.issue_type_names(project_ref)
        except VendorNotFound:
            raise unknown_project(data, project_ref or "", None, connector.capabilities) from None
    wanted = data.type.casefold()
    for name, vendor_id in names.items():
        if name.casefold() == wanted:
            seen[vendor_id] = name
            return vendor_id
    valid = ", ".join(sorted(names)) or "none"
    where = f" in project {project_ref}" if project_ref else ""
    raise Unprocessable(
        f"unknown issue type {data.type!r}{where}; valid names: {valid}",
        field="type",
    )


def unknown_project(
    data: TicketCreate,
    project_ref: str,
    said: str | None = None,
    capabilities: Capabilities | None = None,
) -> Unprocessable:
    """One rule whichever form names the issue type: a project the vendor does not know (or
    the connection cannot see) is a 422 naming the caller's project field."""
    field = "project_id" if data.project_id is not None else "project_vendor_id"
    vendor = capabilities.display_name if capabilities else "the vendor"
    return Unprocessable(
        f"{field}: project {project_ref!r} not found in {vendor} (or not visible to this "
        f"connection){f': {said}' if said else ''}",
        field=field,
    )


async def _assignee(
    catalog: CatalogRepository, conn: Connection, user_id: uuid.UUID | None, vendor_id: str | None
) -> str | None:
    if user_id is None:
        return vendor_id
    user = await catalog.get_user(conn.id, user_id)
    if user is None:
        raise NotFound(f"assigned_user_id: user {user_id} not found")
    return user.vendor_id


async def _parent(
    session: AsyncSession, conn: Connection, data: TicketCreate, seen: Seen
) -> str | None:
    if data.parent_ticket_id is None:
        return data.parent_ticket_vendor_id
    parent = await TicketRepository(session).get(conn.id, data.parent_ticket_id)
    if parent is None:
        raise NotFound(f"parent_ticket_id: ticket {data.parent_ticket_id} not found")
    seen.parent_key = parent.vendor_key
    return parent.vendor_id


def check_tags(tags: list[str] | None) -> tuple[str, ...]:
    """Tags may not look like our reconciliation markers (they would be hidden)."""
    for index, tag in enumerate(tags or ()):
        if is_marker_label(tag):
            raise Unprocessable(
                f"tag {tag!r} is reserved (tb- followed by 16 hex digits marks tickets "
                "created through this API)",
                field=("tags", str(index)),
            )
    return tuple(dict.fromkeys(tags or ()))


async def store_issue(session: AsyncSession, conn: Connection, issue: NormalizedIssue) -> Ticket:
    [ticket] = await TicketRepository(session).upsert_from_vendor(conn.id, [issue])
    return ticket


# -- update ------------------------------------------------------------------------------------
async def update_ticket(
    session: AsyncSession,
    runtime: Runtime,
    conn: Connection,
    ticket_id: uuid.UUID,
    data: TicketUpdate,
) -> TicketRead:
    repo = TicketRepository(session)
    ticket = await repo.get(conn.id, ticket_id)
    if ticket is None:
        raise NotFound("ticket not found")
    spec = await resolve_update(session, conn, data)
    if spec.is_empty:
        return TicketRead.from_model(ticket)  # nothing to change: no vendor call
    await release_connection(session)
    issue = await for_connection(conn, runtime).update_issue(ticket.vendor_id, spec)
    return TicketRead.from_model(await store_issue(session, conn, issue))


async def resolve_update(session: AsyncSession, conn: Connection, data: TicketUpdate) -> UpdateSpec:
    check_vendor_forms(conn.vendor, data)
    sent = data.model_fields_set
    assignee: str | None | Unset = UNSET
    if "assigned_user_id" in sent:
        assignee = await _assignee(CatalogRepository(session), conn, data.assigned_user_id, None)
    elif "assigned_user_vendor_id" in sent:
        assignee = data.assigned_user_vendor_id
    return UpdateSpec(
        name=data.name if "name" in sent and data.name is not None else UNSET,
        description=data.description if "description" in sent else UNSET,
        status=data.status.value if "status" in sent and data.status else UNSET,
        priority=data.priority.value if "priority" in sent and data.priority else UNSET,
        assignee=assignee,
        due_date=data.due_date if "due_date" in sent else UNSET,
        tags=check_tags(data.tags) if "tags" in sent else UNSET,
        custom_fields=dict(data.custom_fields or {}),
    )
