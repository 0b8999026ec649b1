"""Bulk status and field changes: Jira's asynchronous bulk tasks.

Status changes walk each workflow's shortest path (:mod:`status_paths`): one issue per
workflow and status leads, the others follow with one bulk transition per step.
``POST /bulk/issues/transition`` and ``POST /bulk/issues/fields`` answer a ``taskId`` that is
polled at ``GET /bulk/queue/{taskId}`` until it finishes; per-issue failures come back in
``failedAccessibleIssues``. Results are ``{issue id: None (done) | the vendor's reason}``.
Where the bulk API refuses the whole request (not available on the site, a field it cannot
bulk edit, no permission) the same change is applied issue by issue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import UNSET, IssueRef, NormalizedIssue, UpdateSpec
from ticketbridge.connectors.jira.adf import markdown_to_adf
from ticketbridge.connectors.jira.errors import clip
from ticketbridge.connectors.jira.payloads import build_edit_payload, priority_name
from ticketbridge.connectors.jira.status_paths import (
    Edge,
    JiraStatus,
    StatusPaths,
    Where,
    status_of,
    where_of,
)
from ticketbridge.errors import Conflict, VendorNotFound, VendorRejected, VendorTimeout
from ticketbridge.logging import get_logger

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions

log = get_logger(__name__)

TASK_POLL_FIRST, TASK_POLL_MAX, TASK_MAX_WAIT = 0.1, 2.0, 300.0
STATE_PAGE = 100
TASK_FINAL = frozenset({"COMPLETE", "FAILED", "CANCELLED", "DEAD"})
# Refusals of a whole bulk request that the per-issue API may still accept.
REFUSED = (VendorRejected, VendorNotFound)


class BulkTaskOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions

    if TYPE_CHECKING:  # provided by WriteOps (the per-issue fallbacks)

        @property
        def status_paths(self) -> StatusPaths: ...
        async def update_issue(self, issue: str, spec: UpdateSpec) -> NormalizedIssue: ...

    # -- status --------------------------------------------------------------------------------
    async def bulk_set_status(self, refs: Sequence[IssueRef], status: str) -> dict[str, str | None]:
        """Move every issue to ``status`` along the shortest path of its workflow.

        Issues are grouped by workflow and current status: the group's first issue walks the
        path one transition at a time (reading the workflow as it goes), the others follow the
        same path with one bulk transition per step (per issue where the bulk API refuses).
        ``{vendor_id: error or None}``."""
        out: dict[str, str | None] = {r.vendor_id: None for r in refs if r.status == status}
        todo = [r for r in refs if r.status != status]
        if not todo:
            return out
        states = await self._workflow_states([r.vendor_id for r in todo])
        groups: dict[tuple[Where, str], list[IssueRef]] = {}
        for ref in todo:
            state = states.get(ref.vendor_id)
            if state is None:
                out[ref.vendor_id] = "the issue no longer exists in Jira"
            else:
                groups.setdefault((state[0], state[1].id), []).append(ref)
        walked = await asyncio.gather(
            *(self._lead(members, states, status, out) for members in groups.values())
        )
        await self._follow([w for w in walked if w is not None], out)
        return out

    async def _lead(
        self,
        members: list[IssueRef],
        states: dict[str, tuple[Where, JiraStatus]],
        status: str,
        out: dict[str, str | None],
    ) -> tuple[list[Edge], list[IssueRef]] | None:
        """``(path, the issues that must follow it)``: all of them when the path is a single
        known step; else the first issue walks (exploring the workflow) and the others follow."""
        lead, rest = members[0], members[1:]
        where, current = states[lead.vendor_id]
        try:
            walk = await self.status_paths.start(lead.vendor_id, where, current, status)
            if walk is not None and walk.first.to.id in walk.goals:
                return [walk.first], members  # one step, known: everyone goes in bulk
            path = [] if walk is None else await walk.run()
        except (Conflict, VendorRejected, VendorNotFound) as exc:
            # Same workflow, same status: the others would fail the same way.
            for ref in members:
                out[ref.vendor_id] = exc.message
            return None
        for ref in members:
            out[ref.vendor_id] = None
        return (path, rest) if path and rest else None

    async def _follow(
        self, plans: Sequence[tuple[list[Edge], list[IssueRef]]], out: dict[str, str | None]
    ) -> None:
        """Step k of every path in one bulk transition (one input per group)."""
        for step in range(max((len(path) for path, _ in plans), default=0)):
            inputs: list[dict[str, Any]] = []
            ids: list[str] = []
            rests: list[tuple[list[Edge], list[IssueRef]]] = []
            for path, members in plans:
                live = [r for r in members if out.get(r.vendor_id) is None]
                if step < len(path) and live:
                    inputs.append(
                        {
                            "selectedIssueIdsOrKeys": [r.vendor_id for r in live],
                            "transitionId": path[step].id,
                        }
                    )
                    ids += [r.vendor_id for r in live]
                    rests.append((path[step:], live))
            if not inputs:
                return
            try:
                out.update(await self._run_task(await self.client.bulk_transition(inputs), ids))
            except REFUSED as exc:
                log.info("bulk_transition_refused", error=exc.message)
                await self._replay_each(rests, out)
                return

    async def _replay_each(
        self, plans: Sequence[tuple[list[Edge], list[IssueRef]]], out: dict[str, str | None]
    ) -> None:
        """Each issue through the rest of its path, one transition call at a time."""
        remaining = {r.vendor_id: path for path, members in plans for r in members}

        async def replay(ref: IssueRef) -> None:
            for edge in remaining[ref.vendor_id]:
                await self.client.transition_issue(ref.vendor_id, edge.id)

        await self._each([r for _, members in plans for r in members], replay, out)

    async def _workflow_states(self, ids: Sequence[str]) -> dict[str, tuple[Where, JiraStatus]]:
        """``{vendor id: (workflow, current Jira status)}`` by JQL per 100, GET for misses."""
        fields = ["status", "project", "issuetype"]
        out: dict[str, tuple[Where, JiraStatus]] = {}
        for start in range(0, len(ids), STATE_PAGE):
            page = ids[start : start + STATE_PAGE]
            try:
                body = await self.client.search_jql(
                    f"id in ({', '.join(page)})", max_results=STATE_PAGE, fields=fields
                )
            except VendorRejected:  # an id that no longer exists makes the JQL invalid
                body = {"issues": []}
            for raw in body.get("issues") or []:
                out[str(raw["id"])] = (where_of(raw), status_of(raw))
        for vendor_id in ids:
            if vendor_id not in out:
                try:
                    raw = await self.client.get_issue(vendor_id, fields=fields)
                except VendorNotFound:
                    continue
                out[vendor_id] = (where_of(raw), status_of(raw))
        return out

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
