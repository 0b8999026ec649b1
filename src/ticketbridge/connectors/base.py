"""The normalized data every vendor connector speaks (its capabilities are in protocols.py).

Services see normalized data only; each vendor package (``connectors/<vendor>/``) turns
these into vendor requests and back. Times are aware UTC, links are vendor ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Capabilities:
    """What the domains must know about a vendor's shape (a connector's ``capabilities``).

    The defaults describe a vendor like Jira: tickets live in projects, each project has its
    issue types and assignable users, and the passthrough search takes a query in ``jql``.
    """

    # Tickets live in projects: a create names one (``project_id``/``project_vendor_id``),
    # and issue types and assignable users are listed per project. Without projects, the
    # project fields stay null and the sync lists users for the whole connection.
    projects: bool = True
    # A create must name an issue type (Jira); a vendor whose type is optional says False.
    issue_type_required: bool = True
    # The passthrough search's query parameter and what its language is called in messages.
    search_parameter: str = "jql"
    search_language: str = "JQL"
    # Assignment groups are synced (``iter_groups``) and served by ``/v1/itsm/groups``.
    groups: bool = False
    # The vendor's name for a person in error messages ("Jira", "ServiceNow").
    display_name: str = "the vendor"


@dataclass(frozen=True)
class Identity:
    """Who the credentials authenticate as (a credential check's answer)."""

    vendor_id: str
    name: str | None
    email: str | None


# --- sync ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormalizedProject:
    vendor_id: str  # Jira's numeric project id
    key: str
    name: str
    project_type: str | None = None
    description: str | None = None
    vendor: str = ""


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
    vendor: str = ""  # the connection's vendor ("JIRA"): the stored vendor attributes say it

    def __reduce__(self) -> tuple[Any, ...]:
        return _positional(self)


@dataclass(frozen=True, slots=True)
class NormalizedGroup:
    """An assignment group (a vendor with ``Capabilities.groups``)."""

    vendor_id: str
    name: str
    description: str | None = None
    email: str | None = None
    active: bool = True
    manager_vendor_id: str | None = None
    vendor_updated_at: datetime | None = None
    vendor: str = ""


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
    vendor: str = ""  # the connection's vendor ("JIRA"): the stored vendor attributes say it

    def __reduce__(self) -> tuple[Any, ...]:
        return _positional(self)


def _positional(obj: Any) -> tuple[Any, ...]:
    """Pickle a frozen slotted dataclass as its constructor's arguments: sync pages cross
    to and from the mapping helper process (``ticketbridge/offload.py``), and the default
    (a state tuple set back one ``object.__setattr__`` at a time) costs a third more."""
    return type(obj), tuple([getattr(obj, name) for name in obj.__slots__])


# --- writes ----------------------------------------------------------------------------------


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

    # Vendor project key ("ENG") or numeric id ("10000"); None for a vendor without projects.
    project: str | None
    issue_type_id: str | None  # None: the vendor's default (where the type is optional)
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


# --- live reads (passthrough) -----------------------------------------------------------------


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


# --- bulk ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Created:
    """One bulk-create item: ``key``/``vendor_id`` when the vendor created it, else ``error``.
    ``issue``: the created issue as the vendor's answer describes it, when the answer carries
    the whole record (ServiceNow's Batch API does; Jira's bulk answer is ids only)."""

    key: str | None = None
    vendor_id: str | None = None
    error: str | None = None
    issue: NormalizedIssue | None = None


@dataclass(frozen=True, slots=True)
class IssueRef:
    """An issue a bulk change acts on, with its normalized status as last seen."""

    vendor_id: str
    key: str
    status: str
