"""Ticket writes: create, update and transition one issue, vendor-first.

Every write ends with one ``GET /issue/{key}`` so the caller stores Jira's own view of the
issue (defaults, rendered ADF, the workflow's initial status), never an echo of the request.

Creating is not idempotent in Jira, so :meth:`WriteOps.create_issue` tags the issue with a
marker label (:mod:`markers`). When ``POST /issue`` fails ambiguously (a 5xx or a
lost connection: the issue may exist), it searches for the marker before deciding: found means
the create was applied; not found means a single retry is safe. Jira's search index can lag a
write by a moment, so the search is a best effort against that race, not a guarantee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import UNSET, CreateSpec, NormalizedIssue, UpdateSpec
from ticketbridge.connectors.jira import jql as jqlb
from ticketbridge.connectors.jira.mapping import SYNC_FIELDS, issue_from_jira, map_status
from ticketbridge.connectors.jira.markers import visible_tags
from ticketbridge.connectors.jira.payloads import (
    build_create_payload,
    build_edit_payload,
    custom_field_ids,
)
from ticketbridge.errors import Conflict, VendorError, VendorTimeout, VendorUnavailable
from ticketbridge.logging import get_logger

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions

log = get_logger(__name__)

ISSUE_TYPE_PAGE = 200
# POST /issue attempts when the first fails ambiguously and the marker is not found.
CREATE_ATTEMPTS = 2


class WriteOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions

    # -- reads the writes need ---------------------------------------------------------------
    async def issue_type_names(self, project: str) -> dict[str, str]:
        """``{name: id}`` of the issue types one can create in ``project`` (createmeta),
        read once per connector instance (one request or job) and project."""
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
        key = await self._create_once(build_create_payload(spec, self.options), spec)
        extra = custom_field_ids(spec.custom_fields)
        if spec.status is None:
            return await self.read_issue(key, extra)
        raw = await self._get(key, extra, transitions=True)
        created = self._normalize(raw)
        if created.status == spec.status:
            return created
        try:
            transition = self._pick_transition(raw, spec.status, created.status)
        except Conflict as exc:
            raise await self._undo_create(key, exc) from None
        await self.client.transition_issue(key, transition)
        return await self.read_issue(key, extra)

    async def update_issue(self, issue: str, spec: UpdateSpec) -> NormalizedIssue:
        transition: str | None = None
        labels: list[str] = []
        if spec.status is not UNSET or spec.tags is not UNSET:
            # One read up front: the transitions (so an unreachable status fails before
            # anything changes) and the labels (so replacing the tags keeps our markers).
            raw = await self._get(
                issue, ("labels", "status"), transitions=spec.status is not UNSET, full=False
            )
            labels = [str(x) for x in (raw.get("fields") or {}).get("labels") or []]
            if spec.status is not UNSET:
                current = self._status_of(raw)
                if current != spec.status:
                    transition = self._pick_transition(raw, spec.status, current)
        payload = build_edit_payload(spec, self.options, current_labels=labels)
        if payload is not None:
            await self.client.edit_issue(issue, payload)
        if transition is not None:
            await self.client.transition_issue(issue, transition)
        return await self.read_issue(issue, custom_field_ids(spec.custom_fields))

    async def transition_to(self, issue: str, status: str) -> None:
        raw = await self._get(issue, ("status",), transitions=True, full=False)
        current = self._status_of(raw)
        if current != status:
            await self.client.transition_issue(issue, self._pick_transition(raw, status, current))

    # -- helpers -----------------------------------------------------------------------------
    async def _create_once(self, payload: dict[str, Any], spec: CreateSpec) -> str:
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                created = await self.client.create_issue(payload)
                return str(created["key"])
            except (VendorUnavailable, VendorTimeout) as exc:
                if spec.marker is None:
                    raise
                found = await self._search_marker(spec, exc)
                if found:
                    log.info("create_reconciled", key=found[0], marker=spec.marker)
                    return found[0]
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

    async def _undo_create(self, key: str, conflict: Conflict) -> Conflict:
        """The requested status is unreachable: delete the new issue so the request has no
        effect, as its error says. If Jira refuses the delete, say where the issue is."""
        try:
            await self.client.delete_issue(key)
        except VendorError as exc:
            log.warning("create_undo_failed", key=key, error=type(exc).__name__)
            return Conflict(f"{conflict.message}; the issue was created as {key} and kept")
        return Conflict(f"{conflict.message}; nothing was created")

    async def _get(
        self,
        issue: str,
        extra_fields: Sequence[str] = (),
        *,
        transitions: bool = False,
        full: bool = True,
    ) -> dict[str, Any]:
        fields = [*SYNC_FIELDS, *extra_fields] if full else list(extra_fields)
        return await self.client.get_issue(
            issue, fields=fields, expand="transitions" if transitions else None
        )

    def _normalize(self, raw: dict[str, Any]) -> NormalizedIssue:
        issue = issue_from_jira(raw, base_url=self.credentials.base_url, options=self.options)
        return replace(issue, tags=visible_tags(issue.tags))

    def _status_of(self, raw: dict[str, Any]) -> str:
        status = (raw.get("fields") or {}).get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        return map_status(status.get("name"), category, self.options)

    def _pick_transition(self, raw: dict[str, Any], status: str, current: str) -> str:
        """The first available transition whose target maps to ``status``."""
        reachable: dict[str, str] = {}
        for t in raw.get("transitions") or []:
            if t.get("isAvailable") is False:
                continue
            to = t.get("to") or {}
            category = (to.get("statusCategory") or {}).get("key")
            reachable.setdefault(map_status(to.get("name"), category, self.options), str(t["id"]))
        if status in reachable:
            return reachable[status]
        names = ", ".join(sorted(reachable)) or "none"
        raise Conflict(
            f"status {status} cannot be reached from {current}; reachable statuses: {names}"
        )
