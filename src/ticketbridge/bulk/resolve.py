"""Resolve every item of a bulk create at once: ``TicketCreate`` -> ``CreateSpec``.

The same rules and error texts as the single-create resolver
(``tickets.service.resolve_create``), in the same order per item (project, issue type,
assignee, parent, tags), but the store is read with one query per kind of reference for all
items (:mod:`bulk.repository`), and Jira is asked for a vendor-id project's issue type names
once per project (the caller's caching connector). The answer also carries what the stored
ticket needs besides the spec (the issue type's name, the parent's key), so the created
tickets are stored without reading them back from Jira.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.bulk.repository import BulkLookupRepository, ProjectRef, TicketRef, TypeRef
from ticketbridge.connectors import CreateSpec
from ticketbridge.errors import (
    Conflict,
    NotFound,
    Unprocessable,
    VendorError,
    VendorNotFound,
)
from ticketbridge.store.models import Connection
from ticketbridge.store.session import release_connection
from ticketbridge.tickets.repository import LinkCache
from ticketbridge.tickets.schemas import TicketCreate
from ticketbridge.tickets.service import (
    IssueTypeNames,
    check_tags,
    check_vendor_forms,
    require_forms,
    unknown_project,
)


@dataclass(frozen=True)
class Resolved:
    spec: CreateSpec
    type_name: str | None  # None when neither the catalog nor Jira's answer named it
    parent_key: str | None


@dataclass(frozen=True)
class Wanted:
    index: int
    data: TicketCreate
    identifier: str
    marker: str  # marker_label(connection, identifier), computed once by the caller


@dataclass
class _Store:
    """What the store knows about every reference of the request."""

    projects: dict[uuid.UUID, ProjectRef]
    types: dict[uuid.UUID, TypeRef]
    project_types: dict[uuid.UUID, list[TypeRef]]
    vendor_type_names: dict[tuple[str, str], str]
    users: dict[uuid.UUID, str]
    parents: dict[uuid.UUID, TicketRef]
    parent_keys: dict[str, str]


def _type_uuid(data: TicketCreate) -> uuid.UUID | None:
    return data.type_id or data.type_uuid


async def _load(
    session: AsyncSession, conn: Connection, items: Sequence[Wanted], links: LinkCache | None
) -> _Store:
    repo = BulkLookupRepository(session, conn.id)
    datas = [w.data for w in items]
    projects = await repo.projects(d.project_id for d in datas if d.project_id)
    types = await repo.issue_types(t for d in datas if (t := _type_uuid(d)))
    # Name forms and vendor type ids on synced projects: that project's issue types.
    by_project: dict[uuid.UUID, list[TypeRef]] = {}
    named = [
        d.project_id
        for d in datas
        if d.project_id in projects and (d.type_vendor_id or not _type_uuid(d))
    ]
    for ref in await repo.types_of_projects(p for p in named if p):
        by_project.setdefault(ref.project_id, []).append(ref)
    vendor_forms = [d for d in datas if d.project_vendor_id and d.type_vendor_id]
    vendor_type_names = await repo.type_names_by_vendor_ref(
        (str(d.project_vendor_id) for d in vendor_forms),
        (str(d.type_vendor_id) for d in vendor_forms),
        links,
    )
    users = await repo.users(d.assigned_user_id for d in datas if d.assigned_user_id)
    parents = await repo.tickets(d.parent_ticket_id for d in datas if d.parent_ticket_id)
    parent_keys = await repo.ticket_keys(
        p for d in datas if (p := d.parent_ticket_vendor_id) and p.isdigit()
    )
    if links is not None:  # the ids storing the created tickets links them with
        links.projects.update({p.key: p.id for p in projects.values()})
        for ref in [*types.values(), *(r for refs in by_project.values() for r in refs)]:
            if ref.id is not None:
                links.types[(ref.project_id, ref.vendor_id)] = ref.id
    return _Store(projects, types, by_project, vendor_type_names, users, parents, parent_keys)


async def resolve_many(
    session: AsyncSession,
    connector: IssueTypeNames,
    conn: Connection,
    items: Sequence[Wanted],
    links: LinkCache | None = None,
) -> dict[int, Resolved | str]:
    """``{index: Resolved, or the item's error text}``. The store is read first; the
    session's read transaction ends before any vendor lookup. ``links`` receives catalog ids
    read on the way (for storing the created tickets without reading them again)."""
    store = await _load(session, conn, items, links)
    await release_connection(session)
    out: dict[int, Resolved | str] = {}
    for item in items:
        try:
            out[item.index] = await _resolve(store, connector, conn, item)
        except (NotFound, Unprocessable, Conflict, VendorError) as exc:
            out[item.index] = exc.message
    return out


async def _resolve(
    store: _Store, connector: IssueTypeNames, conn: Connection, item: Wanted
) -> Resolved:
    data = item.data
    require_forms(data, connector.capabilities)
    check_vendor_forms(conn.vendor, data)
    project: ProjectRef | None = None
    project_ref: str | None = data.project_vendor_id  # None: a vendor without projects
    if data.project_id is not None:
        project = store.projects.get(data.project_id)
        if project is None:
            raise NotFound(f"project_id: project {data.project_id} not found")
        project_ref = project.key
    type_id, type_name = await _issue_type(store, connector, data, project_ref, project)
    assignee = data.assigned_user_vendor_id
    if data.assigned_user_id is not None:
        found = store.users.get(data.assigned_user_id)
        if found is None:
            raise NotFound(f"assigned_user_id: user {data.assigned_user_id} not found")
        assignee = found
    parent, parent_key = _parent(store, data)
    spec = CreateSpec(
        project=project_ref,
        issue_type_id=type_id,
        name=data.name,
        description=data.description,
        status=data.status.value if data.status else None,
        priority=data.priority.value if data.priority else None,
        assignee=assignee,
        parent=parent,
        tags=check_tags(data.tags),
        due_date=data.due_date,
        custom_fields=dict(data.custom_fields or {}),
        identifier=item.identifier,
        marker=item.marker,
    )
    return Resolved(spec, type_name, parent_key)


async def _issue_type(
    store: _Store,
    connector: IssueTypeNames,
    data: TicketCreate,
    project_ref: str | None,
    project: ProjectRef | None,
) -> tuple[str | None, str | None]:
    """(issue type vendor id, its name when known); (None, None): the vendor's default."""
    synced = store.project_types.get(project.id, []) if project else []
    if data.type_vendor_id is not None:
        if project is not None:
            name = next((t.name for t in synced if t.vendor_id == data.type_vendor_id), None)
        elif project_ref is not None:
            name = store.vendor_type_names.get((project_ref, data.type_vendor_id))
        else:
            name = None
        return data.type_vendor_id, name
    type_uuid, field = (data.type_id, "type_id") if data.type_id else (data.type_uuid, "type")
    if type_uuid is not None:
        found = store.types.get(type_uuid)
        if found is None:
            raise NotFound(f"{field}: issue type {type_uuid} not found")
        return found.vendor_id, found.name
    if data.type is None:
        return None, None  # the vendor's default type (require_forms refused it where required)
    names = {t.name: t.vendor_id for t in synced if t.active}
    if not names:
        # A vendor-id project (or one whose issue types were never synced): ask Jira.
        try:
            names = await connector.issue_type_names(project_ref)
        except VendorNotFound:
            raise unknown_project(data, project_ref or "", None, connector.capabilities) from None
    wanted = data.type.casefold()
    for name, vendor_id in names.items():
        if name.casefold() == wanted:
            return vendor_id, name
    valid = ", ".join(sorted(names)) or "none"
    where = f" in project {project_ref}" if project_ref else ""
    raise Unprocessable(
        f"unknown issue type {data.type!r}{where}; valid names: {valid}",
        field="type",
    )


def _parent(store: _Store, data: TicketCreate) -> tuple[str | None, str | None]:
    """(the parent as Jira is sent it, its key when known)."""
    if data.parent_ticket_id is not None:
        found = store.parents.get(data.parent_ticket_id)
        if found is None:
            raise NotFound(f"parent_ticket_id: ticket {data.parent_ticket_id} not found")
        return found.vendor_id, found.key
    given = data.parent_ticket_vendor_id
    if given is None:
        return None, None
    return given, store.parent_keys.get(given) if given.isdigit() else given
