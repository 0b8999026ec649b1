"""Sync reads: users, groups, categories and record pages, normalized.

Incremental pages walk ``sys_updated_on >= since`` in (sys_updated_on, sys_id) order and page
by keyset, not offset: the page token is the last row's ``(sys_updated_on, sys_id)``, and the
next page asks for the rows strictly after it (``after_key``). Rows that share a second never
skip one another, and a record edited during the walk moves to the end instead of shifting
an offset. Deletions are found by listing every sys_id of the table (``sysparm_fields=sys_id``,
keyset on sys_id).

A full sync reads disjoint sys_id ranges of the table concurrently (``partitions.py``): each
in sys_id order, paged by keyset on sys_id, resumed after the last sys_id stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import (
    NormalizedGroup,
    NormalizedIssue,
    NormalizedIssueType,
    NormalizedProject,
    NormalizedUser,
)
from ticketbridge.connectors.servicenow import partitions
from ticketbridge.connectors.servicenow import query as q
from ticketbridge.connectors.servicenow.mapping import (
    category_from_choice,
    group_from_record,
    issue_from_record,
    user_from_record,
    value,
)

if TYPE_CHECKING:
    from ticketbridge.connectors.servicenow.client import ServiceNowClient
    from ticketbridge.connectors.servicenow.config import ServiceNowCredentials, ServiceNowOptions

ISSUE_PAGE = 100
ID_PAGE = 10_000
USER_PAGE = 500
GROUP_PAGE = 500
CHOICE_PAGE = 500
TOKEN_SEPARATOR = "|"
USER_FIELDS = ("sys_id", "user_name", "name", "email", "active", "sys_updated_on")
GROUP_FIELDS = ("sys_id", "name", "description", "email", "manager", "active", "sys_updated_on")


class SyncOps:
    client: ServiceNowClient
    credentials: ServiceNowCredentials
    options: ServiceNowOptions
    scope: str

    @property
    def table(self) -> str:
        return self.options.table

    async def iter_projects(self) -> AsyncIterator[list[NormalizedProject]]:
        # ServiceNow has no projects (capabilities.projects is False).
        return
        yield  # pragma: no cover (makes this an async generator)

    async def iter_issue_types(
        self, project_key: str | None
    ) -> AsyncIterator[list[NormalizedIssueType]]:
        offset = 0
        while True:
            page = await self.client.query(
                "sys_choice",
                self.category_query(),
                limit=CHOICE_PAGE,
                offset=offset,
                fields=("value", "label", "sequence"),
            )
            if page.records:
                yield [category_from_choice(r) for r in page.records]
            offset += len(page.records)
            if len(page.records) < CHOICE_PAGE:
                return

    def category_query(self) -> str:
        return q.join(
            f"name={q.value(self.table)}",
            "element=category",
            "inactive=false",
            "ORDERBYsequence",
            "ORDERBYlabel",
        )

    def role_conditions(self, search: str | None = None) -> str:
        """``sys_user_has_role`` rows of active users holding the assignable role (and
        matching ``search`` by name, user name or email prefix); no order."""
        conditions = [f"role.name={q.value(self.options.assignable_role)}", "user.active=true"]
        conditions.append(self._search("user.", search))
        return q.join(*conditions)

    def user_conditions(self, search: str | None = None) -> str:
        """Active ``sys_user`` rows (matching ``search``); no order. Used when the connection
        names no assignable role."""
        return q.join("active=true", self._search("", search))

    @staticmethod
    def _search(prefix: str, search: str | None) -> str:
        if not search:
            return ""
        term = q.value(search)
        return "^OR".join(
            f"{prefix}{field}STARTSWITH{term}" for field in ("name", "user_name", "email")
        )

    async def users_by_id(self, sys_ids: Sequence[str]) -> list[dict[str, object]]:
        """The ``sys_user`` records of ``sys_ids``, in that order (missing ones left out)."""
        found: dict[str, dict[str, object]] = {}
        for start in range(0, len(sys_ids), USER_PAGE):
            chunk = list(sys_ids[start : start + USER_PAGE])
            page = await self.client.query(
                "sys_user",
                q.one_of("sys_id", chunk),
                limit=len(chunk),
                fields=USER_FIELDS,
                count=False,
            )
            found.update({str(value(r, "sys_id")): r for r in page.records})
        return [found[i] for i in dict.fromkeys(sys_ids) if i in found]

    async def iter_assignable_users(
        self, project_key: str | None
    ) -> AsyncIterator[list[NormalizedUser]]:
        if not self.options.assignable_role:
            users = self.user_conditions()
            async for records in self._walk_ids("sys_user", users, USER_FIELDS, USER_PAGE):
                yield [user_from_record(r) for r in records]
            return
        seen: set[str] = set()
        async for grants in self._walk_ids(
            "sys_user_has_role", self.role_conditions(), ("sys_id", "user"), USER_PAGE
        ):
            ids = [u for g in grants if (u := value(g, "user")) and u not in seen]
            seen.update(ids)
            if ids:
                yield [user_from_record(r) for r in await self.users_by_id(ids)]

    async def iter_groups(self) -> AsyncIterator[list[NormalizedGroup]]:
        async for records in self._walk_ids("sys_user_group", "", GROUP_FIELDS, GROUP_PAGE):
            yield [group_from_record(r) for r in records]

    async def _walk_ids(
        self, table: str, base: str, fields: Sequence[str], size: int
    ) -> AsyncIterator[list[dict[str, object]]]:
        """Every row of ``base`` (conditions, no order) in sys_id order, by keyset on sys_id."""
        last: str | None = None
        while True:
            condition = q.join(base, f"sys_id>{q.value(last)}" if last else None, q.ID_ORDER)
            page = await self.client.query(table, condition, limit=size, fields=fields, count=False)
            if page.records:
                yield list(page.records)
                last = value(page.records[-1], "sys_id")
            if len(page.records) < size or last is None:
                return

    # -- tickets --------------------------------------------------------------------------------
    def incremental_query(self, project_keys: Sequence[str] | None, since_ms: int) -> str:
        return q.join(f"sys_updated_on>={q.stamp(since_ms)}", q.SYNC_ORDER)

    def scope_query(self, project_keys: Sequence[str] | None) -> str:
        return ""  # every record of the table (iter_issue_ids orders by sys_id)

    async def plan_partitions(
        self, project_keys: Sequence[str], *, whole_scope: bool, slices: int, min_slice: int
    ) -> list[dict[str, Any]] | None:
        # No projects: the scope is always the whole table, sliced by sys_id ranges.
        return await partitions.plan(self.client, self.table, slices=slices, min_slice=min_slice)

    def partition_query(self, partition: Mapping[str, Any], after: str | None) -> str:
        return partitions.query(partition, after)

    def partition_position(
        self, partition: Mapping[str, Any], issues: Sequence[NormalizedIssue]
    ) -> str | None:
        return partitions.position(partition, [i.vendor_id for i in issues])

    @property
    def throttled_secs(self) -> float:
        return self.client.http.waited_for_rate_limit

    async def search_issues_page(
        self, query: str, next_page_token: str | None, max_results: int = ISSUE_PAGE
    ) -> tuple[list[NormalizedIssue], str | None]:
        size = min(max_results, ISSUE_PAGE)
        page = await self.client.query(
            self.table, self._keyset(query, next_page_token), limit=size, count=False
        )
        issues = [self._normalize(r) for r in page.records]
        if len(page.records) < size or not issues:
            return issues, None
        last = page.records[-1]
        token = f"{value(last, 'sys_updated_on') or ''}{TOKEN_SEPARATOR}{value(last, 'sys_id')}"
        return issues, token

    @staticmethod
    def _keyset(query: str, token: str | None) -> str:
        """The query for the rows after the page token (``query`` is ours: conditions then
        ORDERBY terms; a slice's is in sys_id order alone, so its key is the sys_id)."""
        if not token:
            return query
        updated_on, _, sys_id = token.partition(TOKEN_SEPARATOR)
        parts = query.split("^")
        base = q.join(*(p for p in parts if not p.startswith("ORDERBY")))
        order = q.join(*(p for p in parts if p.startswith("ORDERBY")))
        if order == q.ID_ORDER:
            return q.join(base, f"sys_id>{q.value(sys_id)}", order)
        return q.join(q.after_key(base, updated_on, sys_id), order)

    async def iter_issue_ids(self, query: str) -> AsyncIterator[list[str]]:
        async for records in self._walk_ids(self.table, query, ("sys_id",), ID_PAGE):
            yield [str(value(r, "sys_id")) for r in records]

    async def count_issues(self, query: str) -> int:
        page = await self.client.query(self.table, query, limit=1, fields=("sys_id",))
        return page.total if page.total is not None else len(page.records)

    def _normalize(self, record: dict[str, object]) -> NormalizedIssue:
        return issue_from_record(
            record,
            base_url=self.credentials.base_url,
            table=self.table,
            options=self.options,
            scope=self.scope,
        )
