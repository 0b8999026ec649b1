"""The connector protocols: what services may ask of any vendor.

Services see normalized data only; each vendor package (``connectors/<vendor>/``) turns these
calls into vendor requests. A connector instance belongs to one connection: it is built from
the connection's decrypted configuration and the process-wide HTTP client. Capabilities are
separate protocols so a vendor can support a subset (e.g. no bulk API).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Protocol


@dataclass(frozen=True)
class Identity:
    """Who the credentials authenticate as (a credential check's answer)."""

    vendor_id: str
    name: str | None
    email: str | None


class Connector(Protocol):
    vendor: str

    async def check_credentials(self) -> Identity:
        """Ask the vendor who we are; raises VendorAuthFailed when it refuses."""
        ...


# --- sync capability (issue 4) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormalizedProject:
    vendor_id: str  # Jira's numeric project id
    key: str
    name: str
    project_type: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class NormalizedIssueType:
    vendor_id: str
    name: str
    description: str | None = None
    subtask: bool = False


@dataclass(frozen=True, slots=True)
class NormalizedUser:
    vendor_id: str  # Jira accountId
    name: str | None
    email: str | None
    status: str  # ACTIVE | INACTIVE
    account_type: str | None = None


@dataclass(frozen=True, slots=True)
class NormalizedIssue:
    """One vendor issue in normalized terms: what the sync stores as a ticket.

    Links are vendor ids (the store resolves them to its own UUIDs); times are aware UTC.
    """

    vendor_id: str
    vendor_key: str
    name: str
    description: str | None
    status: str
    priority: str
    type: str | None
    type_vendor_id: str | None
    project_vendor_id: str | None  # the project KEY (the compatible API's project vendor id)
    project_vendor_numeric_id: str | None
    assigned_user_vendor_id: str | None
    created_by_vendor_id: str | None
    parent_ticket_vendor_id: str | None  # the parent's key
    url: str | None
    tags: tuple[str, ...]
    due_date: date | None
    ticket_created_at: datetime | None
    status_updated_at: datetime | None
    closed_at: datetime | None
    vendor_updated_at: datetime | None
    status_category: str | None  # new | indeterminate | done
    vendor_status_name: str | None
    vendor_priority_name: str | None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    # The people the issue names (assignee, reporter), so the store knows users that are no
    # longer assignable (inactive accounts) too.
    people: tuple[NormalizedUser, ...] = ()
    # The identifier this connection gave the issue when it created it, read back from the
    # vendor; None for issues created elsewhere (the store then uses the vendor key).
    identifier: str | None = None


class SyncConnector(Protocol):
    """Paged reads a sync needs. Iterators stream: nothing holds a vendor's whole data set."""

    def iter_projects(self) -> AsyncIterator[list[NormalizedProject]]:
        """Pages of the projects in scope (the connection's project filter applied)."""
        ...

    def iter_issue_types(self, project_key: str) -> AsyncIterator[list[NormalizedIssueType]]: ...

    def iter_assignable_users(self, project_key: str) -> AsyncIterator[list[NormalizedUser]]: ...

    def incremental_jql(self, project_keys: Sequence[str] | None, since_ms: int) -> str:
        """The query for issues updated at or after ``since_ms``, oldest change first."""
        ...

    def scope_jql(self, project_keys: Sequence[str] | None) -> str:
        """The query for every issue in scope (reconciliation)."""
        ...

    async def search_issues_page(
        self, jql: str, next_page_token: str | None, max_results: int
    ) -> tuple[list[NormalizedIssue], str | None]: ...

    def iter_issue_ids(self, jql: str) -> AsyncIterator[list[str]]:
        """Pages of issue ids only (large pages): the deletion reconciliation's input."""
        ...

    async def count_issues(self, jql: str) -> int:
        """An estimate (progress display only)."""
        ...


# --- write capability (issue 5) --------------------------------------------------------------


class Unset(Enum):
    """The "field not sent" marker of :class:`UpdateSpec` (``None`` means "clear it")."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class CreateSpec:
    """A ticket to create, fully resolved to vendor ids (no store UUIDs left).

    Services build it from a ``TicketCreate`` after resolving UUID forms; bulk creation builds
    one per item. ``marker`` tags the vendor issue so that an ambiguous failure (5xx or a lost
    answer after the vendor may have applied the write) can be reconciled by searching for it.
    """

    project: str  # vendor project key ("ENG") or numeric id ("10000")
    issue_type_id: str
    name: str
    description: str | None = None  # Markdown / plain text
    status: str | None = None  # normalized; applied with a transition after create
    priority: str | None = None  # normalized
    assignee: str | None = None  # vendor user id (Jira accountId)
    parent: str | None = None  # vendor issue key ("ENG-12") or numeric id
    tags: tuple[str, ...] = ()
    due_date: date | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    identifier: str | None = None  # stored on the vendor issue (entity property)
    marker: str | None = None  # searchable reconciliation marker (a label in Jira)


@dataclass(frozen=True, slots=True)
class UpdateSpec:
    """Changes to one vendor issue; :data:`UNSET` fields are left alone, ``None`` clears."""

    name: str | Unset = UNSET
    description: str | None | Unset = UNSET
    status: str | Unset = UNSET  # normalized; a workflow transition
    priority: str | Unset = UNSET  # normalized
    assignee: str | None | Unset = UNSET  # vendor user id
    due_date: date | None | Unset = UNSET
    tags: tuple[str, ...] | Unset = UNSET
    custom_fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        fields = (
            self.name,
            self.description,
            self.status,
            self.priority,
            self.assignee,
            self.due_date,
            self.tags,
        )
        return all(f is UNSET for f in fields) and not self.custom_fields


class WriteConnector(Protocol):
    """Vendor-first writes. Every method returns the vendor's own view of the issue after the
    write, normalized, so the store keeps what the vendor keeps."""

    async def issue_type_names(self, project: str) -> dict[str, str]:
        """Live ``{issue type name: vendor id}`` of a project (key or id)."""
        ...

    async def create_issue(self, spec: CreateSpec) -> NormalizedIssue:
        """Create exactly once (reconciling ambiguous failures through ``spec.marker``), move
        to ``spec.status`` if that is not the initial status, then read the issue back."""
        ...

    async def update_issue(self, issue: str, spec: UpdateSpec) -> NormalizedIssue:
        """Apply ``spec`` to the issue (key or id) and read it back. An unreachable
        ``spec.status`` raises Conflict before anything is changed."""
        ...

    async def transition_to(self, issue: str, status: str) -> None:
        """Move the issue to a vendor status that maps to the normalized ``status``."""
        ...

    async def find_by_marker(self, marker: str, *, project: str | None = None) -> list[str]:
        """Keys of the issues tagged with ``marker``, oldest first."""
        ...


# --- passthrough capability (issue 6) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveRecord:
    """One vendor object exactly as the vendor sent it (its own field names), and the id
    ticket creation accepts for it (``type_vendor_id``, ``assigned_user_vendor_id``)."""

    vendor_id: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LiveProject:
    """A project as the vendor lists it right now (passthrough dropdowns)."""

    vendor_id: str  # what ticket creation accepts as ``project_vendor_id`` (the Jira key)
    data: dict[str, Any]  # the vendor's project, minus its embedded issue types
    project_type: str | None
    issue_types: tuple[LiveRecord, ...] | None = None  # None: not requested


@dataclass(frozen=True, slots=True)
class LiveProjectPage:
    items: list[LiveProject]
    total: int


@dataclass(frozen=True, slots=True)
class LiveIssueTypePage:
    items: list[LiveRecord]
    total: int


@dataclass(frozen=True, slots=True)
class LiveUserPage:
    items: list[LiveRecord]
    total: int | None  # Jira gives none


@dataclass(frozen=True, slots=True)
class LiveTicket:
    vendor: dict[str, Any]  # the vendor's own shape, limited to the fields the caller asked
    normalized: NormalizedIssue | None  # only when the caller asked for it


@dataclass(frozen=True, slots=True)
class LiveSearchPage:
    items: list[LiveTicket]
    next_page_token: str | None  # the vendor's own token; None on the last page


class PassthroughConnector(Protocol):
    """Live reads that bypass the store (dropdowns, ad-hoc search).

    Offsets and limits are the caller's; the connector splits them into vendor-sized pages.
    An unknown project raises ``VendorNotFound``; a query the vendor refuses (bad syntax, an
    expired page token) raises ``VendorRejected`` with the vendor's message.
    """

    async def live_projects(
        self, *, offset: int, limit: int, query: str | None, with_issue_types: bool
    ) -> LiveProjectPage: ...

    async def live_issue_types(
        self, project_key: str, *, offset: int, limit: int
    ) -> LiveIssueTypePage: ...

    async def live_assignable_users(
        self, project_key: str, *, query: str | None, offset: int, limit: int
    ) -> LiveUserPage: ...

    async def live_search(
        self,
        query: str,
        *,
        page_token: str | None,
        limit: int,
        fields: Sequence[str] | None,
        normalized: bool = False,
    ) -> LiveSearchPage:
        """``fields`` None: the fields the normalized view needs; else exactly those. With
        ``normalized`` the normalized view's fields are fetched too (not shown in ``vendor``)
        and each item carries its normalized view."""
        ...
