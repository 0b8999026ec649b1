"""The connector protocols: what services may ask of any vendor.

A connector instance belongs to one connection: the registry (``registry.for_connection``)
builds it from the connection's decrypted configuration and the process-wide HTTP client.
Capabilities are separate protocols so a function states what it needs and a vendor may
offer a subset; :class:`Connector` is all of them, what the registry builds today.
The data they exchange is in ``base.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from ticketbridge.connectors.base import (
    Capabilities,
    Created,
    CreateSpec,
    Identity,
    IssueRef,
    LiveIssueTypePage,
    LiveProjectPage,
    LiveSearchPage,
    LiveUserPage,
    NormalizedGroup,
    NormalizedIssue,
    NormalizedIssueType,
    NormalizedProject,
    NormalizedUser,
    UpdateSpec,
)


class Credentials(Protocol):
    """A vendor's validated credentials model (pydantic), as provisioning handles it.

    ``base_url`` is where the vendor is called (the URL policy checks it; assigning it stores
    the checked form); ``url_field`` names the field the caller typed it in and
    ``secret_field`` the secret that must come along when that address changes (a stored
    secret is never sent to a new address)."""

    base_url: str
    url_field: ClassVar[str]
    secret_field: ClassVar[str]

    def hint(self) -> dict[str, Any]:
        """What may be shown of the credentials (never a whole secret)."""
        ...

    def model_dump(self) -> dict[str, Any]: ...


class IdentityConnector(Protocol):
    vendor: str
    # What the domains must know of the vendor's shape (projects, search parameter, groups).
    capabilities: Capabilities

    async def check_credentials(self) -> Identity:
        """Ask the vendor who we are; raises VendorAuthFailed when it refuses."""
        ...


class SyncConnector(Protocol):
    """Paged reads a sync needs. Iterators stream: nothing holds a vendor's whole data set.

    Queries are opaque strings in the vendor's own language (JQL, an encoded query): the
    connector builds them (``incremental_query``, ``scope_query``) and reads them back; the
    sync only carries them. Page tokens are opaque too (a vendor token or a keyset)."""

    capabilities: Capabilities

    def iter_projects(self) -> AsyncIterator[list[NormalizedProject]]:
        """Pages of the projects in scope (the connection's project filter applied); none
        for a vendor without projects."""
        ...

    def iter_issue_types(self, project_key: str | None) -> AsyncIterator[list[NormalizedIssueType]]:
        """The issue types of a project; ``None``: of the connection (no projects)."""
        ...

    def iter_assignable_users(self, project_key: str | None) -> AsyncIterator[list[NormalizedUser]]:
        """The users assignable in a project; ``None``: in the connection (no projects)."""
        ...

    def incremental_query(self, project_keys: Sequence[str] | None, since_ms: int) -> str:
        """The query for issues updated at or after ``since_ms``, oldest change first."""
        ...

    def scope_query(self, project_keys: Sequence[str] | None) -> str:
        """The query for every issue in scope (reconciliation)."""
        ...

    async def search_issues_page(
        self, query: str, next_page_token: str | None, max_results: int
    ) -> tuple[list[NormalizedIssue], str | None]: ...

    async def plan_partitions(
        self, project_keys: Sequence[str], *, whole_scope: bool, slices: int, min_slice: int
    ) -> list[dict[str, Any]] | None:
        """Disjoint slices that together hold every issue in scope, for a full sync to read
        concurrently: about ``slices`` of them, none much smaller than ``min_slice`` issues
        unless a natural unit (a project) is. ``project_keys`` are the projects in scope
        as the catalog knows them; unless ``whole_scope``, the scope is everything the
        account sees, so the slices also cover issues outside those projects. Each slice is
        JSON (the checkpoint keeps it) with an ``estimate`` of its issues. None: read the
        scope as one stream instead."""
        ...

    def partition_query(self, partition: Mapping[str, Any], after: str | None) -> str:
        """A slice's query, in an order edits do not change, resuming after ``after``."""
        ...

    def partition_position(
        self, partition: Mapping[str, Any], issues: Sequence[NormalizedIssue]
    ) -> str | None:
        """The resume point of a slice once ``issues`` (its latest page) are stored; None
        when the page gives none (the previous point stays)."""
        ...

    @property
    def throttled_secs(self) -> float:
        """Seconds this connector has waited on the vendor's rate limits so far."""
        ...

    def iter_issue_ids(self, query: str) -> AsyncIterator[list[str]]:
        """Pages of issue ids only (large pages): the deletion reconciliation's input."""
        ...

    async def count_issues(self, query: str) -> int:
        """An estimate (progress display only)."""
        ...


@runtime_checkable
class OffloadedPageReads(Protocol):
    """A sync connector whose search pages can be decoded and mapped away from the event
    loop: ``offload(fn, *args)`` runs a picklable function elsewhere (the runtime's helper
    process, ``ticketbridge.offload``) and returns its result. Same answer, same errors as
    ``search_issues_page``, and a third item: ``prepare(issues)``, computed with the mapping
    (the caller's own per-page work, e.g. the rows' stored form), or None without it."""

    async def search_issues_page_offloaded(
        self,
        query: str,
        next_page_token: str | None,
        max_results: int,
        offload: Callable[..., Awaitable[Any]],
        prepare: Callable[[list[NormalizedIssue]], Any] | None = None,
    ) -> tuple[list[NormalizedIssue], str | None, Any]: ...


@runtime_checkable
class GroupsConnector(Protocol):
    """Assignment groups (a vendor whose ``capabilities.groups`` is true)."""

    def iter_groups(self) -> AsyncIterator[list[NormalizedGroup]]:
        """Pages of every group of the connection (inactive ones included, flagged)."""
        ...


class WriteConnector(Protocol):
    """Vendor-first writes. Every method returns the vendor's own view of the issue after the
    write, normalized, so the store keeps what the vendor keeps."""

    async def issue_type_names(self, project: str | None) -> dict[str, str]:
        """Live ``{issue type name: vendor id}`` of a project (key or id); ``None``: of the
        connection, for a vendor without projects."""
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
        """Keys of the issues tagged with ``marker``, oldest first (where the vendor keeps the
        marker is the connector's business)."""
        ...


class BulkConnector(Protocol):
    """Many issues per vendor call. Results are per item; one item's refusal is its own."""

    bulk_create_max: int  # at most this many specs per ``bulk_create_issues``

    async def bulk_create_issues(self, specs: Sequence[CreateSpec]) -> list[Created]:
        """One vendor call; results in input order. Raises VendorUnavailable/VendorTimeout
        when the outcome is unknown: the caller reconciles through the specs' markers."""
        ...

    async def find_markers(self, markers: Sequence[str]) -> dict[str, Created]:
        """``{marker: the oldest issue carrying it}`` for the markers the vendor knows."""
        ...

    def created_issue(
        self,
        spec: CreateSpec,
        created: Created,
        *,
        type_name: str | None = None,
        parent_key: str | None = None,
    ) -> NormalizedIssue:
        """The issue ``spec`` just created, as far as the request and the vendor's create
        answer tell, without a vendor call. What only the vendor decides (timestamps, the
        reporter, defaults it fills in) is left empty for the next sync to bring.
        ``type_name`` and ``parent_key``, when given, are what the caller's catalog knows of
        the issue type's name and the parent's key; they win over what the answer says."""
        ...

    async def read_issues(
        self, vendor_ids: Sequence[str], custom_fields: Iterable[str] = ()
    ) -> dict[str, NormalizedIssue]:
        """The vendor's view of these issues (deleted ones left out). ``custom_fields``: the
        custom fields the caller wrote, so the view includes them."""
        ...

    async def bulk_set_status(self, refs: Sequence[IssueRef], status: str) -> dict[str, str | None]:
        """Move every issue to the normalized ``status``: ``{vendor_id: error or None}``."""
        ...

    async def bulk_edit_fields(
        self, refs: Sequence[IssueRef], spec: UpdateSpec
    ) -> dict[str, str | None]:
        """Apply every change of ``spec`` but the status: ``{vendor_id: error or None}``."""
        ...


@runtime_checkable
class PassthroughConnector(Protocol):
    """Live reads that bypass the store (dropdowns, ad-hoc search).

    Offsets and limits are the caller's; the connector splits them into vendor-sized pages.
    An unknown project raises ``VendorNotFound``; a query the vendor refuses (bad syntax, an
    expired page token) raises ``VendorRejected`` with the vendor's message.
    """

    capabilities: Capabilities

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
        query: str,  # in the vendor's language (``capabilities.search_language``)
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


class Connector(
    IdentityConnector, SyncConnector, WriteConnector, BulkConnector, PassthroughConnector, Protocol
):
    """Every capability: what ``registry.for_connection`` returns."""
