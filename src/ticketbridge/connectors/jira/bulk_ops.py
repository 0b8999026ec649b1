"""Bulk writes against Jira: bulk create, marker search, bulk read-back, bulk transition and
bulk edit (asynchronous Jira tasks polled at ``bulk/queue/{taskId}``).

Results are per item and normalized: ``None`` means the item succeeded, a string is the
vendor's reason verbatim. Where the bulk API refuses the whole request (not available on the
site, a field it cannot bulk edit, no permission) the same change is applied issue by issue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import UNSET, CreateSpec, NormalizedIssue, UpdateSpec
from ticketbridge.connectors.jira import jql as jqlb
from ticketbridge.connectors.jira.adf import markdown_to_adf
from ticketbridge.connectors.jira.client import API, BULK_CREATE_MAX
from ticketbridge.connectors.jira.mapping import (
    DEFAULT_STATUS_MAPPING,
    SYNC_FIELDS,
    issue_from_jira,
)
from ticketbridge.connectors.jira.payloads import (
    build_create_payload,
    build_edit_payload,
    priority_name,
    visible_tags,
)
from ticketbridge.errors import (
    Conflict,
    VendorNotFound,
    VendorRejected,
    VendorTimeout,
)
from ticketbridge.logging import get_logger

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions

log = get_logger(__name__)

SEARCH_PAGE = 100
TASK_POLL_FIRST, TASK_POLL_MAX, TASK_MAX_WAIT = 0.1, 2.0, 300.0
TASK_FINAL = frozenset({"COMPLETE", "FAILED", "CANCELLED", "DEAD"})
# Refusals of a whole bulk request that the per-issue API may still accept.
REFUSED = (VendorRejected, VendorNotFound)


@dataclass(frozen=True, slots=True)
class Created:
    """One bulk-create item: ``key``/``vendor_id`` when Jira created it, else ``error``."""

    key: str | None = None
    vendor_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IssueRef:
    vendor_id: str
    key: str
    status: str  # normalized, as last seen


def element_error(error: Mapping[str, Any]) -> str:
    """Jira's ``elementErrors`` of one failed item as one readable line."""
    body = error.get("elementErrors") or {}
    messages = [str(m) for m in body.get("errorMessages") or []]
    messages += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    return "; ".join(messages) or f"Jira refused the item (HTTP {error.get('status', '?')})"


def _status_by_name(name: str | None, options: JiraOptions) -> str | None:
    """A status mapped by *name* only (the bulk transitions lookup gives no category)."""
    if not name:
        return None
    for mapping in (options.status_mapping, DEFAULT_STATUS_MAPPING):
        for key, value in mapping.items():
            if key.casefold() == name.casefold():
                return value
    return None


class BulkOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions

    if TYPE_CHECKING:  # provided by WriteOps (the per-issue fallbacks)

        async def transition_to(self, issue: str, status: str) -> None: ...
        async def update_issue(self, issue: str, spec: UpdateSpec) -> NormalizedIssue: ...

    # -- create --------------------------------------------------------------------------------
    async def bulk_create_issues(self, specs: Sequence[CreateSpec]) -> list[Created]:
        """One ``POST /issue/bulk`` (at most 50 items); results in input order.

        Raises VendorUnavailable/VendorTimeout when the outcome is unknown (the caller
        reconciles through the markers) and VendorRateLimited/VendorAuthFailed as they are.
        A refusal of the whole request becomes every item's error."""
        if len(specs) > BULK_CREATE_MAX:
            raise ValueError(f"at most {BULK_CREATE_MAX} issues per bulk create")
        payloads = [build_create_payload(spec, self.options) for spec in specs]
        try:
            body = await self.client.bulk_create(payloads)
        except REFUSED as exc:
            return [Created(error=exc.message) for _ in specs]
        failed: dict[int, str] = {}
        general: list[str] = []
        for error in body.get("errors") or []:
            index = error.get("failedElementNumber")
            if isinstance(index, int) and 0 <= index < len(specs):
                failed[index] = element_error(error)
            else:
                general.append(element_error(error))
        created = iter(body.get("issues") or [])
        out: list[Created] = []
        for index in range(len(specs)):
            if index in failed:
                out.append(Created(error=failed[index]))
                continue
            issue = next(created, None)
            if issue is None:  # neither created nor reported: Jira's general error, if any
                out.append(Created(error="; ".join(general) or "Jira did not create the issue"))
            else:
                out.append(Created(key=str(issue["key"]), vendor_id=str(issue["id"])))
        return out

    async def find_markers(self, markers: Sequence[str]) -> dict[str, Created]:
        """``{marker: the oldest issue carrying it}`` for the markers found in Jira."""
        wanted = set(markers)
        found: dict[str, Created] = {}
        if not wanted:
            return found
        labels = ", ".join(jqlb.quote(m) for m in sorted(wanted))
        jql = f"labels in ({labels}) ORDER BY created ASC"
        token: str | None = None
        while True:
            body = await self.client.search_jql(
                jql, next_page_token=token, max_results=SEARCH_PAGE, fields=["labels"]
            )
            for issue in body.get("issues") or []:
                for label in (issue.get("fields") or {}).get("labels") or []:
                    if label in wanted and label not in found:
                        found[label] = Created(key=str(issue["key"]), vendor_id=str(issue["id"]))
            token = body.get("nextPageToken") or None
            if token is None:
                return found

    # -- read back -----------------------------------------------------------------------------
    async def read_issues(
        self, vendor_ids: Sequence[str], extra_fields: Sequence[str] = ()
    ) -> dict[str, NormalizedIssue]:
        """Jira's view of these issues: one JQL search (``id in (...)``) per 100, then a GET
        for any the search missed (its index lags writes). Deleted issues are left out."""
        ids = list(dict.fromkeys(vendor_ids))
        fields = [*SYNC_FIELDS, *extra_fields]
        out: dict[str, NormalizedIssue] = {}
        for start in range(0, len(ids), SEARCH_PAGE):
            page = ids[start : start + SEARCH_PAGE]
            try:
                body = await self.client.search_jql(
                    f"id in ({', '.join(page)}) ORDER BY id ASC",
                    max_results=SEARCH_PAGE,
                    fields=fields,
                )
            except VendorRejected:  # e.g. an id that no longer exists makes the JQL invalid
                body = {"issues": []}
            for raw in body.get("issues") or []:
                out[str(raw["id"])] = self._bulk_normalize(raw)
        for vendor_id in ids:
            if vendor_id not in out:
                try:
                    raw = await self.client.get_issue(vendor_id, fields=fields)
                except VendorNotFound:
                    continue
                out[vendor_id] = self._bulk_normalize(raw)
        return out

    def _bulk_normalize(self, raw: Mapping[str, Any]) -> NormalizedIssue:
        issue = issue_from_jira(raw, base_url=self.credentials.base_url, options=self.options)
        return replace(issue, tags=visible_tags(issue.tags))

    # -- status --------------------------------------------------------------------------------
    async def bulk_set_status(self, refs: Sequence[IssueRef], status: str) -> dict[str, str | None]:
        """Move every issue to a Jira status mapping to ``status``: one transitions lookup,
        one bulk transition (grouped by transition id), then per-issue calls for what the
        lookup could not decide or the bulk API refused. ``{vendor_id: error or None}``."""
        out: dict[str, str | None] = {r.vendor_id: None for r in refs if r.status == status}
        todo = [r for r in refs if r.status != status]
        if not todo:
            return out
        groups, one_by_one = await self._plan_transitions(todo, status, out)
        grouped = [i for ids in groups.values() for i in ids]
        if grouped:
            inputs = [
                {"selectedIssueIdsOrKeys": ids, "transitionId": tid} for tid, ids in groups.items()
            ]
            try:
                out.update(await self._run_task(await self.client.bulk_transition(inputs), grouped))
            except REFUSED as exc:
                log.info("bulk_transition_refused", error=exc.message)
                one_by_one += [r for r in todo if r.vendor_id in set(grouped)]
        await self._each(one_by_one, lambda r: self.transition_to(r.vendor_id, status), out)
        return out

    async def _plan_transitions(
        self, todo: Sequence[IssueRef], status: str, out: dict[str, str | None]
    ) -> tuple[dict[str, list[str]], list[IssueRef]]:
        """``({transition id: [issue ids]}, issues to transition one by one)``; issues whose
        workflow cannot reach ``status`` get their error in ``out``."""
        try:
            body = await self.client._json(  # noqa: SLF001 (a route JiraClient lacks a method for)
                "GET",
                f"{API}/bulk/issues/transition",
                params={"issueIdsOrKeys": ",".join(r.key for r in todo)},
            )
        except REFUSED as exc:
            log.info("bulk_transitions_lookup_refused", error=exc.message)
            return {}, list(todo)
        by_key = {r.key: r for r in todo}
        groups: dict[str, list[str]] = {}
        decided: set[str] = set()
        for group in body.get("availableTransitions") or []:
            refs = [by_key[k] for k in group.get("issues") or [] if k in by_key]
            targets: dict[str, str] = {}
            unnamed = False
            for t in group.get("transitions") or []:
                mapped = _status_by_name((t.get("to") or {}).get("statusName"), self.options)
                if mapped is None:
                    unnamed = True
                else:
                    targets.setdefault(mapped, str(t.get("transitionId")))
            if status in targets:
                groups.setdefault(targets[status], []).extend(r.vendor_id for r in refs)
            elif not unnamed:
                reachable = ", ".join(sorted(targets)) or "none"
                for r in refs:
                    out[r.vendor_id] = (
                        f"status {status} cannot be reached from {r.status}; "
                        f"reachable statuses: {reachable}"
                    )
            else:
                continue  # some targets need their status category: decide per issue
            decided.update(r.key for r in refs)
        return groups, [r for r in todo if r.key not in decided]

    # -- fields --------------------------------------------------------------------------------
    async def bulk_edit_fields(
        self, refs: Sequence[IssueRef], spec: UpdateSpec
    ) -> dict[str, str | None]:
        """Apply every change of ``spec`` but the status. One bulk edit when the fields allow
        it (tags and custom fields need each issue's own labels/types: per issue)."""
        spec = replace(spec, status=UNSET)
        out: dict[str, str | None] = {}
        if not refs or spec.is_empty:
            return {r.vendor_id: None for r in refs}
        if spec.tags is UNSET and not spec.custom_fields:
            ids = [r.vendor_id for r in refs]
            try:
                payload = await self._bulk_edit_payload(ids, spec)
                out.update(await self._run_task(await self.client.bulk_edit(payload), ids))
                return out
            except REFUSED as exc:
                log.info("bulk_edit_refused", error=exc.message)
        if spec.tags is UNSET:
            payload_one = build_edit_payload(spec, self.options)
            await self._each(
                refs, lambda r: self.client.edit_issue(r.vendor_id, payload_one or {}), out
            )
        else:  # replacing tags must keep each issue's own markers: read, then write
            await self._each(refs, lambda r: self.update_issue(r.vendor_id, spec), out)
        return out

    async def _bulk_edit_payload(self, ids: list[str], spec: UpdateSpec) -> dict[str, Any]:
        actions: list[str] = []
        edited: dict[str, Any] = {}

        def add(group: str, item: dict[str, Any]) -> None:
            actions.append(item["fieldId"])
            edited.setdefault(group, []).append(item)

        if spec.name is not UNSET:
            add("singleLineTextFields", {"fieldId": "summary", "text": spec.name})
        if spec.description is not UNSET:
            adf = markdown_to_adf(spec.description)
            add("richTextFields", {"fieldId": "description", "richText": {"adfValue": adf}})
        if spec.assignee is not UNSET:
            user = {"user": {"accountId": spec.assignee}} if spec.assignee else {}
            add("singleSelectClearableUserPickerFields", {"fieldId": "assignee", **user})
        if spec.due_date is not UNSET:
            day = {"date": {"formattedDate": spec.due_date.isoformat()}} if spec.due_date else {}
            add("datePickerFields", {"fieldId": "duedate", **day})
        if spec.priority is not UNSET:
            actions.append("priority")
            edited["priority"] = {"priorityId": await self._priority_id(spec.priority)}
        return {
            "selectedIssueIdsOrKeys": ids,
            "selectedActions": actions,
            "editedFieldsInput": edited,
            "sendBulkNotification": False,
        }

    async def _priority_id(self, priority: str) -> str:
        name = priority_name(priority, self.options)
        for item in await self.client.priorities():
            if str(item.get("name", "")).casefold() == name.casefold():
                return str(item["id"])
        raise VendorRejected(f"Jira has no priority named {name!r}")

    # -- helpers -------------------------------------------------------------------------------
    async def _run_task(self, task_id: str, ids: Sequence[str]) -> dict[str, str | None]:
        """Wait for a bulk task; ``{issue id: error or None}`` for every submitted id."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TASK_MAX_WAIT
        delay = TASK_POLL_FIRST
        while True:
            progress = await self.client.bulk_progress(task_id)
            if progress.get("status") in TASK_FINAL:
                break
            if loop.time() + delay > deadline:
                raise VendorTimeout(f"Jira bulk task {task_id} did not finish in time")
            await asyncio.sleep(delay)
            delay = min(TASK_POLL_MAX, delay * 2)
        processed = {str(i) for i in progress.get("processedAccessibleIssues") or []}
        failed = {
            str(k): "; ".join(str(m) for m in v) or "Jira refused the change"
            for k, v in (progress.get("failedAccessibleIssues") or {}).items()
        }
        status = str(progress.get("status"))
        out: dict[str, str | None] = {}
        for vendor_id in ids:
            if vendor_id in failed:
                out[vendor_id] = failed[vendor_id]
            elif vendor_id in processed:
                out[vendor_id] = None
            elif status == "COMPLETE":
                out[vendor_id] = "Jira did not process the issue (not found or not accessible)"
            else:
                out[vendor_id] = f"Jira's bulk task ended {status}"
        return out

    async def _each(self, refs: Sequence[IssueRef], call: Any, out: dict[str, str | None]) -> None:
        """Run ``call(ref)`` for every issue (the connection's limiter bounds concurrency)."""

        async def one(ref: IssueRef) -> None:
            try:
                await call(ref)
            except (Conflict, VendorRejected, VendorNotFound) as exc:
                out[ref.vendor_id] = exc.message

        await asyncio.gather(*(one(r) for r in refs))
