"""Ticket writes: create, update and transition one issue, vendor-first.

An update or a status change ends with one ``GET /issue/{key}`` so the caller stores Jira's
own view of the issue (defaults, rendered ADF, the status reached). A create with no status
to reach does not read back: Jira's answer is the id and key, and the rest follows from the
request (:mod:`created`, the bulk path's rule; what only Jira decides — timestamps, reporter,
defaults — arrives with the next incremental sync). A create that was reconciled after an
ambiguous failure, or that walks to a status, reads the issue back.

Creating is not idempotent in Jira, so :meth:`WriteOps.create_issue` tags the issue with a
marker label (:mod:`markers`). When ``POST /issue`` fails ambiguously (a 5xx or a
lost connection: the issue may exist), it searches for the marker before deciding: found means
the create was applied; not found means a single retry is safe. Jira's search index can lag a
write by a moment, so the search is a best effort against that race, not a guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from ticketbridge.connectors.base import UNSET, Created, CreateSpec, NormalizedIssue, UpdateSpec
from ticketbridge.connectors.jira import jql as jqlb
from ticketbridge.connectors.jira.created import issue_from_create
from ticketbridge.connectors.jira.mapping import SYNC_FIELDS, issue_from_jira, map_status
from ticketbridge.connectors.jira.markers import visible_tags
from ticketbridge.connectors.jira.payloads import (
    build_create_payload,
    build_edit_payload,
    custom_field_ids,
)
from ticketbridge.connectors.jira.status_paths import (
    StatusPaths,
    Walk,
    WalkFailed,
    status_of,
    where_of,
)
from ticketbridge.errors import VendorError, VendorTimeout, VendorUnavailable
from ticketbridge.logging import get_logger

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions

log = get_logger(__name__)

ISSUE_TYPE_PAGE = 200
# What a status change reads first: where the issue is, in which workflow (and its labels).
STATUS_FIELDS = ("labels", "status", "project", "issuetype")
# POST /issue attempts when the first fails ambiguously and the marker is not found.
CREATE_ATTEMPTS = 2


class WriteOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions

    # -- reads the writes need ---------------------------------------------------------------
    async def issue_type_names(self, project: str | None) -> dict[str, str]:
        """``{name: id}`` of the issue types one can create in ``project`` (createmeta),
        read once per connector instance (one request or job) and project."""
        if project is None:  # Jira's issue types are per project
            return {}
        cache: dict[str, dict[str, str]] = self.__dict__.setdefault("_issue_type_names", {})
        if project not in cache:
            cache[project] = await self._fetch_issue_type_names(project)
        return cache[project]

    async def _fetch_issue_type_names(self, project: str) -> dict[str, str]:
        names: dict[str, str] = {}
        start = 0
        while True:
            body = await self.client.project_issue_types(
                project, start_at=start, max_results=ISSUE_TYPE_PAGE
            )
            page: list[dict[str, Any]] = body.get("issueTypes") or body.get("values") or []
            for item in page:
                names.setdefault(str(item.get("name")), str(item.get("id")))
            start += len(page)
            if not page or start >= int(body.get("total") or 0):
                return names

    async def read_issue(self, issue: str, extra_fields: Sequence[str] = ()) -> NormalizedIssue:
        raw = await self._get(issue, extra_fields)
        return self._normalize(raw)

    async def find_by_marker(self, marker: str, *, project: str | None = None) -> list[str]:
        clauses = [f"labels = {jqlb.quote(marker)}"]
        if project:
            # A numeric project is an id, which JQL takes unquoted.
            clauses.insert(0, f"project = {project if project.isdigit() else jqlb.quote(project)}")
        body = await self.client.search_jql(
            f"{' AND '.join(clauses)} ORDER BY created ASC", max_results=50, fields=["key"]
        )
        return [str(i["key"]) for i in body.get("issues") or [] if i.get("key")]

    # -- writes ------------------------------------------------------------------------------
    async def create_issue(self, spec: CreateSpec) -> NormalizedIssue:
        """Create, then walk to ``spec.status``. The issue is never deleted because of its
        status: if the status cannot be reached, Jira's issue (in the status it has) is the
        answer and the reason is logged."""
        key, vendor_id = await self._create_once(build_create_payload(spec, self.options), spec)
        if spec.status is None and vendor_id is not None:
            return issue_from_create(
                spec,
                Created(key=key, vendor_id=vendor_id),
                base_url=self.credentials.base_url,
                options=self.options,
            )
        extra = custom_field_ids(spec.custom_fields)
        raw = await self._get(key, extra, transitions=spec.status is not None)
        created = self._normalize(raw)
        if spec.status is None or created.status == spec.status:
            return created
        try:
            walk = await self._start_walk(key, spec.status, raw)
            if walk is None:
                return created
            await walk.run()
        except (WalkFailed, VendorError) as exc:
            # The issue exists: answering an error would lose it from the store.
            log.warning(
                "create_status_not_reached", key=key, status=spec.status, reason=exc.message
            )
        return await self.read_issue(key, extra)

    async def update_issue(self, issue: str, spec: UpdateSpec) -> NormalizedIssue:
        walk: Walk | None = None
        labels: list[str] = []
        if spec.status is not UNSET or spec.tags is not UNSET:
            # One read up front: the status (so an unreachable status fails before anything
            # changes) and the labels (so replacing the tags keeps our markers).
            raw = await self._get(
                issue, STATUS_FIELDS, full=False, transitions=spec.status is not UNSET
            )
            labels = [str(x) for x in (raw.get("fields") or {}).get("labels") or []]
            if spec.status is not UNSET and self._status_of(raw) != spec.status:
                walk = await self._start_walk(issue, spec.status, raw)
        payload = build_edit_payload(spec, self.options, current_labels=labels)
        if payload is not None:
            await self.client.edit_issue(issue, payload)
        if walk is not None:
            await walk.run()
        return await self.read_issue(issue, custom_field_ids(spec.custom_fields))

    async def transition_to(self, issue: str, status: str) -> None:
        """Walk ``issue`` to ``status`` along its workflow's shortest path."""
        raw = await self._get(issue, STATUS_FIELDS, full=False, transitions=True)
        if self._status_of(raw) == status:
            return
        walk = await self._start_walk(issue, status, raw)
        if walk is not None:
            await walk.run()

    async def _start_walk(
        self, issue: str, status: str, raw: dict[str, Any] | None = None
    ) -> Walk | None:
        """Plan the walk from ``raw`` (the issue read with its transitions) or a fresh read."""
        if raw is None:
            raw = await self._get(issue, STATUS_FIELDS, full=False, transitions=True)
        where, current = where_of(raw), status_of(raw)
        self.status_paths.remember(where, current, raw.get("transitions"))
        return await self.status_paths.start(issue, where, current, status)

    @property
    def status_paths(self) -> StatusPaths:
        """Workflow knowledge shared by every status change of this connector instance
        (one request or job)."""
        found = self.__dict__.get("_status_paths")
        if found is None:
            found = self.__dict__["_status_paths"] = StatusPaths(self.client, self.options)
        return cast(StatusPaths, found)

    # -- helpers -----------------------------------------------------------------------------
    async def _create_once(
        self, payload: dict[str, Any], spec: CreateSpec
    ) -> tuple[str, str | None]:
        """``(key, id)`` of the created issue; the id is None when the create was reconciled
        from its marker (then the issue is read back: an earlier attempt made it)."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                created = await self.client.create_issue(payload)
                vendor_id = str(created.get("id"))
                return str(created["key"]), vendor_id if vendor_id.isdigit() else None
            except (VendorUnavailable, VendorTimeout) as exc:
                if spec.marker is None:
                    raise
                found = await self._search_marker(spec, exc)
                if found:
                    log.info("create_reconciled", key=found[0], marker=spec.marker)
                    return found[0], None
                if attempt == CREATE_ATTEMPTS:
                    raise
                log.info("create_retry", marker=spec.marker, error=type(exc).__name__)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _search_marker(self, spec: CreateSpec, original: VendorError) -> list[str]:
        assert spec.marker is not None
        try:
            return await self.find_by_marker(spec.marker, project=spec.project)
        except VendorError:
            # Unknown outcome: report the create's own failure, not the search's.
            raise original from None

    async def _get(
        self,
        issue: str,
        extra_fields: Sequence[str] = (),
        *,
        full: bool = True,
        transitions: bool = False,
    ) -> dict[str, Any]:
        fields = [*SYNC_FIELDS, *extra_fields] if full else list(extra_fields)
        # The transitions with their screens' fields, for the status walk's first step.
        expand = "transitions.fields" if transitions else None
        return await self.client.get_issue(issue, fields=fields, expand=expand)

    def _normalize(self, raw: dict[str, Any]) -> NormalizedIssue:
        issue = issue_from_jira(raw, base_url=self.credentials.base_url, options=self.options)
        return replace(issue, tags=visible_tags(issue.tags))

    def _status_of(self, raw: dict[str, Any]) -> str:
        status = (raw.get("fields") or {}).get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        return map_status(status.get("name"), category, self.options)
