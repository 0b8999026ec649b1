"""Bulk status and field changes: Jira's asynchronous bulk tasks.

``POST /bulk/issues/transition`` and ``POST /bulk/issues/fields`` answer a ``taskId`` that is
polled at ``GET /bulk/queue/{taskId}`` until it finishes; per-issue failures come back in
``failedAccessibleIssues``. Results are ``{issue id: None (done) | the vendor's reason}``.
Where the bulk API refuses the whole request (not available on the site, a field it cannot
bulk edit, no permission) the same change is applied issue by issue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import UNSET, NormalizedIssue, UpdateSpec
from ticketbridge.connectors.jira.adf import markdown_to_adf
from ticketbridge.connectors.jira.errors import clip
from ticketbridge.connectors.jira.mapping import DEFAULT_STATUS_MAPPING
from ticketbridge.connectors.jira.payloads import build_edit_payload, priority_name
from ticketbridge.errors import Conflict, VendorNotFound, VendorRejected, VendorTimeout
from ticketbridge.logging import get_logger

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions

log = get_logger(__name__)

TASK_POLL_FIRST, TASK_POLL_MAX, TASK_MAX_WAIT = 0.1, 2.0, 300.0
TASK_FINAL = frozenset({"COMPLETE", "FAILED", "CANCELLED", "DEAD"})
# Refusals of a whole bulk request that the per-issue API may still accept.
REFUSED = (VendorRejected, VendorNotFound)


@dataclass(frozen=True, slots=True)
class IssueRef:
    vendor_id: str
    key: str
    status: str  # normalized, as last seen


def _status_by_name(name: str | None, options: JiraOptions) -> str | None:
    """A status mapped by *name* only (the bulk transitions lookup gives no category)."""
    if not name:
        return None
    for mapping in (options.status_mapping, DEFAULT_STATUS_MAPPING):
        for key, value in mapping.items():
            if key.casefold() == name.casefold():
                return value
    return None


class BulkTaskOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions

    if TYPE_CHECKING:  # provided by WriteOps (the per-issue fallbacks)

        async def transition_to(self, issue: str, status: str) -> None: ...
        async def update_issue(self, issue: str, spec: UpdateSpec) -> NormalizedIssue: ...

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
            body = await self.client.bulk_available_transitions([r.key for r in todo])
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
            str(k): clip(
                "; ".join(m for m in v if isinstance(m, str)) if isinstance(v, list) else ""
            )
            or "Jira refused the change"
            for k, v in (progress.get("failedAccessibleIssues") or {}).items()
        }
        status = clip(str(progress.get("status")), 40)
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
