"""Bulk writes through the Batch API: one ``POST /api/now/v1/batch`` per chunk, one item per
record, results mapped back by item id (the item's index in the chunk).

Per-item failures are per-item status codes (ServiceNow's error texts kept, clipped). Items
ServiceNow lists as unserviced (a size or time limit cut the batch short) or answers 429 (a
rate limit rule, checked before the record is touched) were not executed and are sent again in
a further batch, the 429 ones after their ``Retry-After``. A failed or lost batch answer raises
VendorUnavailable/VendorTimeout, and so does a create item answered 5xx (it may have run): the
caller reconciles creates through their markers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from ticketbridge.connectors.base import (
    UNSET,
    Created,
    CreateSpec,
    IssueRef,
    NormalizedIssue,
    UpdateSpec,
)
from ticketbridge.connectors.servicenow import query as q
from ticketbridge.connectors.servicenow.client import BatchItem, BatchResult, item_url
from ticketbridge.connectors.servicenow.errors import documented, error_for_status
from ticketbridge.connectors.servicenow.mapping import issue_from_spec, value
from ticketbridge.connectors.servicenow.payloads import create_fields, status_fields, update_fields
from ticketbridge.connectors.servicenow.write_ops import WriteOps
from ticketbridge.errors import TicketbridgeError, VendorUnavailable

BULK_MAX = 50
READ_PAGE = 100
# Batches sent for one chunk at most: the first, then the unserviced remainder again.
BATCH_ROUNDS = 3


def item_error(result: BatchResult) -> str:
    return error_for_status(result.status, documented(result.body), result.retry_after).message


def unknown_outcome(result: BatchResult) -> bool:
    """A batch item whose effect is unknown: a 5xx (or no status) may come after the write."""
    return result.status >= 500 or result.status == 0


class BulkOps(WriteOps):
    bulk_create_max = BULK_MAX

    async def _batch(
        self, items: Sequence[BatchItem], *, creates: bool = False
    ) -> dict[str, BatchResult]:
        """Every item's result by id; raises VendorUnavailable when ServiceNow neither ran
        nor declined an item (its outcome is unknown).

        Items ServiceNow did not run are sent again in a further batch: those it left
        unserviced (up to ``BATCH_ROUNDS`` batches) and those answered 429 (a rate limit rule
        refuses before the record is touched), after the longest ``Retry-After`` among them,
        within the retry policy's attempts, wait and deadline, as ``VendorHttp`` retries a
        whole call. An item still limited then keeps its 429 as its result. For ``creates``,
        an item with an unknown outcome (5xx) stops the rounds at once: the caller reconciles
        the whole chunk by marker, and re-sends what it does not find."""
        http = self.client.http
        policy = http.policy
        started = time.monotonic()
        out: dict[str, BatchResult] = {}
        pending = list(items)
        unserviced_rounds = limited_rounds = 0
        waited = 0.0
        while pending:
            results, unserviced = await self.client.batch(pending)
            out.update({r.id: r for r in results})
            declined_ids = set(unserviced)
            if any(i.id not in out and i.id not in declined_ids for i in pending):
                raise VendorUnavailable("ServiceNow's batch answer left items unaccounted for")
            ran = [out[i.id] for i in pending if i.id not in declined_ids]
            if creates and any(unknown_outcome(r) for r in ran):
                break
            declined = [i for i in pending if i.id in declined_ids]
            if declined:
                unserviced_rounds += 1
                if unserviced_rounds >= BATCH_ROUNDS:
                    declined = []
            limited = [i for i in pending if i.id not in declined_ids and out[i.id].status == 429]
            if limited:
                limited_rounds += 1
                asked = [w for i in limited if (w := out[i.id].retry_after) is not None]
                delay = max(asked) if asked else policy.backoff(limited_rounds - 1)
                budget = min(
                    policy.max_total_wait - waited,
                    policy.total_deadline - (time.monotonic() - started),
                )
                if limited_rounds >= policy.max_attempts or delay > budget:
                    limited = []
                else:
                    await http.wait_rate_limited(delay)
                    waited += delay
            again = {i.id for i in declined} | {i.id for i in limited}
            pending = [i for i in pending if i.id in again]
        for item in items:
            if item.id not in out:
                out[item.id] = BatchResult(item.id, 503, {"error": {"message": "not serviced"}})
        return out

    # -- create --------------------------------------------------------------------------------
    async def bulk_create_issues(self, specs: Sequence[CreateSpec]) -> list[Created]:
        if len(specs) > BULK_MAX:
            raise ValueError(f"at most {BULK_MAX} records per batch")
        batch_id = uuid.uuid4().hex
        out: list[Created | None] = [None] * len(specs)
        items: list[BatchItem] = []
        for index, spec in enumerate(specs):
            try:
                parent = await self.resolve_record(spec.parent) if spec.parent else None
                fields = create_fields(spec, self.options, parent_sys_id=parent)
            except TicketbridgeError as exc:  # this item's own trouble (a parent, a field)
                out[index] = Created(error=exc.message)
                continue
            items.append(BatchItem(f"{batch_id}-{index}", "POST", item_url(self.table), fields))
        results = await self._batch(items, creates=True) if items else {}
        if any(unknown_outcome(results[item.id]) for item in items):
            # An item answered 5xx inside a 200 batch may have been applied (ServiceNow ran
            # it, then failed): like a lost batch answer, the caller reconciles every item of
            # the chunk through its marker instead of reporting a record that exists as failed.
            raise VendorUnavailable("ServiceNow failed batch items after they may have run")
        for item in items:
            index = int(item.id.rsplit("-", 1)[1])
            result = results[item.id]
            record = result.body.get("result") if isinstance(result.body, dict) else None
            if result.status in (200, 201) and isinstance(record, dict):
                out[index] = Created(
                    key=value(record, "number"),
                    vendor_id=value(record, "sys_id"),
                    issue=self._normalize(record),
                )
            else:
                out[index] = Created(error=item_error(result))
        return [c or Created(error="not created") for c in out]

    def created_issue(
        self,
        spec: CreateSpec,
        created: Created,
        *,
        type_name: str | None = None,
        parent_key: str | None = None,
    ) -> NormalizedIssue:
        """The Batch API answers each created record whole: that is the issue. A record found
        by its marker after an ambiguous batch carries only ids: the spec fills in the rest
        (the next sync brings ServiceNow's own values). The caller's ``type_name`` and
        ``parent_key`` win over either."""
        issue = created.issue or issue_from_spec(
            spec,
            sys_id=str(created.vendor_id),
            number=str(created.key),
            base_url=self.credentials.base_url,
            table=self.table,
        )
        type_name = type_name or issue.type
        parent_key = parent_key or issue.parent_ticket_vendor_id
        if type_name != issue.type or parent_key != issue.parent_ticket_vendor_id:
            issue = replace(issue, type=type_name, parent_ticket_vendor_id=parent_key)
        return issue

    async def find_markers(self, markers: Sequence[str]) -> dict[str, Created]:
        """``{marker: the oldest record carrying it}`` for the markers found."""
        wanted = sorted(set(markers))
        found: dict[str, Created] = {}
        for start in range(0, len(wanted), READ_PAGE):
            condition = q.join(
                q.one_of("correlation_display", wanted[start : start + READ_PAGE]),
                "ORDERBYsys_created_on",
            )
            page = await self.client.query(
                self.table,
                condition,
                limit=READ_PAGE * 2,
                fields=("sys_id", "number", "correlation_display"),
                count=False,
            )
            for record in page.records:
                marker = value(record, "correlation_display")
                if marker in wanted and marker not in found:
                    found[marker] = Created(
                        key=value(record, "number"), vendor_id=value(record, "sys_id")
                    )
        return found

    # -- read back -----------------------------------------------------------------------------
    async def read_issues(
        self, vendor_ids: Sequence[str], custom_fields: Iterable[str] = ()
    ) -> dict[str, NormalizedIssue]:
        """ServiceNow's view of these records (every field, so ``u_*`` ones too); deleted
        ones are left out."""
        ids = list(dict.fromkeys(vendor_ids))
        out: dict[str, NormalizedIssue] = {}
        for start in range(0, len(ids), READ_PAGE):
            page = await self.client.query(
                self.table,
                q.one_of("sys_id", ids[start : start + READ_PAGE]),
                limit=READ_PAGE,
                count=False,
            )
            for record in page.records:
                issue = self._normalize(record)
                out[issue.vendor_id] = issue
        return out

    # -- changes -------------------------------------------------------------------------------
    async def bulk_set_status(self, refs: Sequence[IssueRef], status: str) -> dict[str, str | None]:
        fields = status_fields(status, self.options)
        return await self._patch_all(refs, fields)

    async def bulk_edit_fields(
        self, refs: Sequence[IssueRef], spec: UpdateSpec
    ) -> dict[str, str | None]:
        try:
            fields = update_fields(replace(spec, status=UNSET), self.options)
        except TicketbridgeError as exc:
            return {r.vendor_id: exc.message for r in refs}
        if not fields:
            return {r.vendor_id: None for r in refs}
        return await self._patch_all(refs, fields)

    async def _patch_all(
        self, refs: Sequence[IssueRef], fields: dict[str, Any]
    ) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for start in range(0, len(refs), BULK_MAX):
            chunk = refs[start : start + BULK_MAX]
            batch_id = uuid.uuid4().hex
            items = [
                BatchItem(f"{batch_id}-{i}", "PATCH", item_url(self.table, r.vendor_id), fields)
                for i, r in enumerate(chunk)
            ]
            results = await self._batch(items)
            for item, ref in zip(items, chunk, strict=True):
                result = results[item.id]
                out[ref.vendor_id] = None if result.status == 200 else item_error(result)
        return out
