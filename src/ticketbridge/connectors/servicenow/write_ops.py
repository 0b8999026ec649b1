"""Ticket writes: create and update one record through the Table API, vendor-first.

A POST or PATCH answers the record as ServiceNow stored it (defaults, the priority it
computed from impact and urgency), read with the same parameters as every read, so the
store keeps ServiceNow's view without another call.

Creating is not idempotent, so every record carries this connection's marker in
``correlation_display`` (:mod:`payloads`). When the POST fails ambiguously (a 5xx or a lost
answer: the record may exist), the marker is looked up before deciding: found means the
create was applied; not found means one more POST is safe. The Table API reads what it has
written at once, so the lookup sees a record the POST created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import CreateSpec, NormalizedIssue, UpdateSpec
from ticketbridge.connectors.servicenow import query as q
from ticketbridge.connectors.servicenow.id_grammar import NUMBER, SYS_ID
from ticketbridge.connectors.servicenow.mapping import issue_from_record, value
from ticketbridge.connectors.servicenow.payloads import create_fields, update_fields
from ticketbridge.connectors.servicenow.sync_ops import SyncOps
from ticketbridge.errors import Unprocessable, VendorError, VendorTimeout, VendorUnavailable
from ticketbridge.logging import get_logger

if TYPE_CHECKING:
    from ticketbridge.connectors.servicenow.client import ServiceNowClient
    from ticketbridge.connectors.servicenow.config import ServiceNowCredentials, ServiceNowOptions

log = get_logger(__name__)

CREATE_ATTEMPTS = 2
MARKER_PAGE = 100


class WriteOps(SyncOps):
    client: ServiceNowClient
    credentials: ServiceNowCredentials
    options: ServiceNowOptions
    scope: str

    # -- reads the writes need -----------------------------------------------------------------
    async def issue_type_names(self, project: str | None) -> dict[str, str]:
        """``{category label: value}`` of the table's active categories (sys_choice)."""
        if project is not None and project != self.options.table:
            return {}
        names: dict[str, str] = {}
        async for page in self.iter_issue_types(None):
            for category in page:
                names.setdefault(category.name, category.vendor_id)
        return names

    async def find_by_marker(self, marker: str, *, project: str | None = None) -> list[str]:
        page = await self.client.query(
            self.options.table,
            q.join(f"correlation_display={q.value(marker)}", "ORDERBYsys_created_on"),
            limit=MARKER_PAGE,
            fields=("sys_id", "number"),
            count=False,
        )
        return [value(r, "number") or str(value(r, "sys_id")) for r in page.records]

    async def resolve_record(self, ref: str, field: str = "parent_ticket_vendor_id") -> str:
        """A sys_id, or the sys_id of the record with that number (a 422 naming ``field``
        when there is none)."""
        if SYS_ID.fullmatch(ref):
            return ref
        if not NUMBER.fullmatch(ref):
            raise Unprocessable(f"{field}: not a ServiceNow sys_id or number", field=field)
        page = await self.client.query(
            self.options.table,
            f"number={q.value(ref)}",
            limit=1,
            fields=("sys_id",),
            count=False,
        )
        found = value(page.records[0], "sys_id") if page.records else None
        if found is None:
            raise Unprocessable(
                f"{field}: no {self.options.table} record numbered {ref}", field=field
            )
        return found

    # -- writes --------------------------------------------------------------------------------
    async def create_issue(self, spec: CreateSpec) -> NormalizedIssue:
        parent = await self.resolve_record(spec.parent) if spec.parent else None
        fields = create_fields(spec, self.options, parent_sys_id=parent)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return self._normalize(await self.client.create(self.options.table, fields))
            except (VendorUnavailable, VendorTimeout) as exc:
                if spec.marker is None:
                    raise
                found = await self._search_marker(spec.marker, exc)
                if found:
                    log.info("create_reconciled", key=found[0], marker=spec.marker)
                    return await self.read_issue(found[0])
                if attempt == CREATE_ATTEMPTS:
                    raise
                log.info("create_retry", marker=spec.marker, error=type(exc).__name__)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _search_marker(self, marker: str, original: VendorError) -> list[str]:
        try:
            return await self.find_by_marker(marker)
        except VendorError:
            raise original from None

    async def update_issue(self, issue: str, spec: UpdateSpec) -> NormalizedIssue:
        sys_id = await self.resolve_record(issue, "vendor_id")
        fields = update_fields(spec, self.options)
        if not fields:
            return await self.read_issue(sys_id)
        return self._normalize(await self.client.update(self.options.table, sys_id, fields))

    async def transition_to(self, issue: str, status: str) -> None:
        await self.update_issue(issue, UpdateSpec(status=status))

    async def read_issue(self, issue: str) -> NormalizedIssue:
        sys_id = await self.resolve_record(issue, "vendor_id")
        return self._normalize(await self.client.get(self.options.table, sys_id))

    def _normalize(self, record: dict[str, Any]) -> NormalizedIssue:
        return issue_from_record(
            record,
            base_url=self.credentials.base_url,
            table=self.options.table,
            options=self.options,
            scope=self.scope,
        )
