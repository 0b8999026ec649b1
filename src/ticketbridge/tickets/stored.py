"""A sync page's vendor-only ticket columns in the form the writer binds, made where the
page is mapped.

The sync maps a page in its helper process (``ticketbridge.offload``) while the event loop
writes the previous one; whatever per-row work can be done without the store (the new row's
id, the JSON columns, the times) is done there too, so the loop only resolves links, binds
and executes. On SQLite that is the stored text itself, converted by the very functions
:func:`ticketbridge.store.upsert.upsert` would use (the same bytes: the JSON columns through
the standard library's ``json.dumps``, as the engine does); asyncpg takes Python objects, so
on PostgreSQL the values stay objects and SQLAlchemy converts them as before. A page mapped
in this process (the helper off, small pages, ServiceNow) goes through the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ticketbridge.connectors import NormalizedIssue
from ticketbridge.store.base import uuid7
from ticketbridge.store.models import Ticket
from ticketbridge.store.upsert import sqlite_converters
from ticketbridge.tickets.schemas import VendorAttributes

# The columns made here, in the order of each row's tuple.
COLUMNS = (
    "id",
    "tags",
    "due_date",
    "ticket_created_at",
    "closed_at",
    "status_updated_at",
    "vendor_updated_at",
    "vendor_attributes",
)

Stored = tuple[Any, ...]


def issue_values(issue: NormalizedIssue) -> Stored:
    """The issue's :data:`COLUMNS` values as Python objects (what SQLAlchemy binds)."""
    return (
        uuid7(),  # the row's id should the upsert insert it (ignored on conflict)
        list(issue.tags),
        issue.due_date,
        issue.ticket_created_at,
        issue.closed_at,
        issue.status_updated_at,
        issue.vendor_updated_at,
        VendorAttributes.stored_from_issue(issue),
    )


def stored_page(dialect: str, issues: Sequence[NormalizedIssue]) -> list[Stored]:
    """Each issue's :data:`COLUMNS` values, in ``dialect``'s stored form (a picklable
    function: it runs in the helper process)."""
    if dialect != "sqlite":
        return [issue_values(i) for i in issues]
    converts = sqlite_converters(Ticket.__table__, COLUMNS)
    out: list[Stored] = []
    for issue in issues:
        values = issue_values(issue)
        out.append(tuple(v if f is None else f(v) for f, v in zip(converts, values, strict=True)))
    return out


def ready_columns(dialect: str) -> tuple[str, ...]:
    """The columns :func:`stored_page` gives in their stored form, for ``upsert(ready=)``."""
    return COLUMNS if dialect == "sqlite" else ()
