"""Live passthrough reads: the task table as the one "project", its categories, assignable
users, and encoded-query search with offset paging.

ServiceNow has no projects. So that a client's project -> issue type -> assignee dropdowns
work unchanged, the projects list holds one entry: the connection's task table (``incident``
by default), whose issue types are the table's ``category`` choices and whose assignable
users are the active users with the assignable role. Any other project key is a 404.

Search takes an encoded query (``sysparm_query``) and pages with ``sysparm_offset``; the page
token is the next offset (sealed into a signed cursor by the passthrough service). Items keep
the Jira-like envelope every passthrough search answers (``id``, ``key``, ``fields``): ``id``
is the sys_id, ``key`` the number, ``fields`` the record as ServiceNow sent it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import (
    LiveIssueTypePage,
    LiveProject,
    LiveProjectPage,
    LiveRecord,
    LiveSearchPage,
    LiveTicket,
    LiveUserPage,
)
from ticketbridge.connectors.servicenow import query as q
from ticketbridge.connectors.servicenow.mapping import issue_from_record, record_url, value
from ticketbridge.connectors.servicenow.sync_ops import USER_FIELDS, SyncOps
from ticketbridge.errors import VendorNotFound

if TYPE_CHECKING:
    from ticketbridge.connectors.servicenow.client import ServiceNowClient
    from ticketbridge.connectors.servicenow.config import ServiceNowCredentials, ServiceNowOptions

TABLE_LABELS = {
    "incident": "Incident",
    "problem": "Problem",
    "change_request": "Change Request",
    "sc_req_item": "Requested Item",
}
# What issue_from_record reads: asked for along with a caller's fields for the normalized view.
NORMALIZED_FIELDS = (
    "sys_id",
    "number",
    "short_description",
    "description",
    "state",
    "priority",
    "category",
    "assigned_to",
    "opened_by",
    "caller_id",
    "parent_incident",
    "due_date",
    "sys_created_on",
    "sys_updated_on",
    "closed_at",
    "resolved_at",
    "correlation_id",
    "correlation_display",
)
WILDCARDS = frozenset({"*all", "*navigable"})


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A record read with display values, as the vendor's raw values (what clients of the
    Table API see by default)."""
    return {k: (v.get("value") if isinstance(v, dict) else v) for k, v in record.items()}


class PassthroughOps(SyncOps):
    client: ServiceNowClient
    credentials: ServiceNowCredentials
    options: ServiceNowOptions

    def _table_project(self, with_issue_types: list[LiveRecord] | None) -> LiveProject:
        table = self.options.table
        return LiveProject(
            vendor_id=table,
            data={"key": table, "name": TABLE_LABELS.get(table, table), "table": table},
            project_type="task_table",
            issue_types=tuple(with_issue_types) if with_issue_types is not None else None,
        )

    def _check_project(self, project_key: str) -> None:
        if project_key != self.options.table:
            raise VendorNotFound(
                f"ServiceNow: this connection's records live in {self.options.table!r}; "
                f"{project_key!r} is not a project of it"
            )

    async def live_projects(
        self, *, offset: int, limit: int, query: str | None, with_issue_types: bool
    ) -> LiveProjectPage:
        table = self.options.table
        wanted = query.casefold() if query else None
        if wanted and wanted not in table and wanted not in TABLE_LABELS.get(table, "").casefold():
            return LiveProjectPage(items=[], total=0)
        types = (await self.live_issue_types(table, offset=0, limit=1000)).items
        project = self._table_project(list(types) if with_issue_types else None)
        return LiveProjectPage(items=[project][offset : offset + limit], total=1)

    async def live_issue_types(
        self, project_key: str, *, offset: int, limit: int
    ) -> LiveIssueTypePage:
        self._check_project(project_key)
        page = await self.client.query(
            "sys_choice",
            self.category_query(),
            limit=limit,
            offset=offset,
            fields=("value", "label", "sequence", "element", "name"),
        )
        items = [
            LiveRecord(vendor_id=value(r, "value") or "", data=_plain(r)) for r in page.records
        ]
        total = page.total if page.total is not None else offset + len(items)
        return LiveIssueTypePage(items=items, total=total)

    async def live_assignable_users(
        self, project_key: str, *, query: str | None, offset: int, limit: int
    ) -> LiveUserPage:
        self._check_project(project_key)
        if not self.options.assignable_role:
            page = await self.client.query(
                "sys_user",
                q.join(self.user_conditions(query), "ORDERBYname", "ORDERBYsys_id"),
                limit=limit,
                offset=offset,
                fields=USER_FIELDS,
            )
            records, total = page.records, page.total
        else:
            # The role's grants, ordered by their user's name; then those users' records.
            grants = await self.client.query(
                "sys_user_has_role",
                q.join(self.role_conditions(query), "ORDERBYuser.name", "ORDERBYuser"),
                limit=limit,
                offset=offset,
                fields=("user",),
                display=False,
            )
            ids = [u for g in grants.records if (u := value(g, "user"))]
            records, total = await self.users_by_id(ids), grants.total
        items = [LiveRecord(vendor_id=value(r, "sys_id") or "", data=_plain(r)) for r in records]
        return LiveUserPage(items=items, total=total)

    async def live_search(
        self,
        query: str,
        *,
        page_token: str | None,
        limit: int,
        fields: Sequence[str] | None,
        normalized: bool = False,
    ) -> LiveSearchPage:
        offset = int(page_token) if page_token and page_token.isdigit() else 0
        shown = [f for f in fields or () if f not in WILDCARDS and not f.startswith("-")]
        hidden = {f[1:] for f in fields or () if f.startswith("-")}
        everything = fields is None or any(f in WILDCARDS for f in fields) or not shown
        request = None if everything else sorted({*shown, "sys_id", "number"})
        if request is not None and normalized:
            request = sorted({*request, *NORMALIZED_FIELDS})
        page = await self.client.query(
            self.options.table, query, limit=limit, offset=offset, fields=request
        )
        items = []
        for record in page.records:
            plain = _plain(record)
            visible = {
                k: v for k, v in plain.items() if k not in hidden and (everything or k in shown)
            }
            sys_id = str(plain.get("sys_id") or "")
            vendor = {
                "id": sys_id,
                "key": str(plain.get("number") or sys_id),
                "self": record_url(self.credentials.base_url, self.options.table, sys_id),
                "fields": visible,
            }
            issue = None
            if normalized:
                issue = issue_from_record(
                    record,
                    base_url=self.credentials.base_url,
                    table=self.options.table,
                    options=self.options,
                    scope=self.scope,
                )
            items.append(LiveTicket(vendor=vendor, normalized=issue))
        end = offset + len(page.records)
        more = len(page.records) == limit and (page.total is None or end < page.total)
        return LiveSearchPage(items=items, next_page_token=str(end) if more else None)
