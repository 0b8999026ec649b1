"""Sync reads: projects, issue types, users and ticket pages, normalized.

Every reader is a page iterator: a caller holds one vendor page at a time, whatever the size
of the site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.base import (
    NormalizedIssue,
    NormalizedIssueType,
    NormalizedProject,
    NormalizedUser,
)
from ticketbridge.connectors.jira import jql as jqlb
from ticketbridge.connectors.jira import partitions
from ticketbridge.connectors.jira.client import not_json_object, search_body
from ticketbridge.connectors.jira.config import JiraOptions
from ticketbridge.connectors.jira.mapping import (
    SYNC_FIELDS,
    SYNC_PROPERTIES,
    issue_from_jira,
    issue_type_from_jira,
    project_from_jira,
    user_from_jira,
)

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials

PROJECT_PAGE = 50  # project/search allows 100; 50 keeps each page light with descriptions
ISSUE_TYPE_PAGE = 200
USER_PAGE = 100
ID_PAGE = 5000  # search/jql allows 5000 when only ids are requested
ISSUE_PAGE = 100  # ... and 100 when fields are requested
# A smaller answer (a dozen issues) is mapped here: shipping it to the helper process and
# back costs about what mapping it does.
OFFLOAD_MIN_BYTES = 64 * 1024


class SyncOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions
    scope: str

    async def iter_projects(self) -> AsyncIterator[list[NormalizedProject]]:
        keys = self.options.project_keys_filter or None
        start = 0
        while True:
            body = await self.client.search_projects(
                start_at=start, max_results=PROJECT_PAGE, keys=keys, expand="description"
            )
            values: list[dict[str, Any]] = body.get("values") or []
            if values:
                yield [project_from_jira(p) for p in values]
            start += len(values)
            if body.get("isLast", True) or not values:
                return

    async def iter_issue_types(
        self, project_key: str | None
    ) -> AsyncIterator[list[NormalizedIssueType]]:
        if project_key is None:  # Jira's issue types are per project (capabilities.projects)
            return
        start = 0
        while True:
            body = await self.client.project_issue_types(
                project_key, start_at=start, max_results=ISSUE_TYPE_PAGE
            )
            # Cloud answers "issueTypes"; Data Center "values".
            values: list[dict[str, Any]] = body.get("issueTypes") or body.get("values") or []
            if values:
                yield [issue_type_from_jira(t) for t in values]
            start += len(values)
            total = body.get("total")
            if not values or (isinstance(total, int) and start >= total):
                return

    async def iter_assignable_users(
        self, project_key: str | None
    ) -> AsyncIterator[list[NormalizedUser]]:
        if project_key is None:  # assignable users are per project in Jira
            return
        # Jira may answer a short page while more users exist (it filters after paging), so
        # only an empty page ends the walk.
        start = 0
        while True:
            users = await self.client.assignable_users(
                project_key, start_at=start, max_results=USER_PAGE
            )
            if not users:
                return
            yield [user_from_jira(u) for u in users]
            start += len(users)

    def incremental_query(self, project_keys: Sequence[str] | None, since_ms: int) -> str:
        return jqlb.updated_since_jql(project_keys, since_ms)

    def scope_query(self, project_keys: Sequence[str] | None) -> str:
        return jqlb.scope_jql(project_keys)

    async def plan_partitions(
        self, project_keys: Sequence[str], *, whole_scope: bool, slices: int, min_slice: int
    ) -> list[dict[str, Any]] | None:
        return await partitions.plan(
            self.client, project_keys, rest=not whole_scope, slices=slices, min_slice=min_slice
        )

    def partition_query(self, partition: Mapping[str, Any], after: str | None) -> str:
        return partitions.query(partition, after)

    def partition_position(
        self, partition: Mapping[str, Any], issues: Sequence[NormalizedIssue]
    ) -> str | None:
        return partitions.position(partition, [i.vendor_key for i in issues])

    @property
    def throttled_secs(self) -> float:
        return self.client.http.waited_for_rate_limit

    async def search_issues_page(
        self, query: str, next_page_token: str | None, max_results: int = ISSUE_PAGE
    ) -> tuple[list[NormalizedIssue], str | None]:
        body = await self.client.search_jql(
            query,
            next_page_token=next_page_token,
            max_results=min(max_results, ISSUE_PAGE),
            fields=SYNC_FIELDS,
            properties=SYNC_PROPERTIES,
        )
        return self.issues_from_search(body)

    async def search_issues_page_offloaded(
        self,
        query: str,
        next_page_token: str | None,
        max_results: int,
        offload: Callable[..., Awaitable[Any]],
        prepare: Callable[[list[NormalizedIssue]], Any] | None = None,
    ) -> tuple[list[NormalizedIssue], str | None, Any]:
        """:meth:`search_issues_page`, the answer decoded and mapped by ``offload`` (which
        runs a picklable function elsewhere: the sync's helper process), and
        ``prepare(issues)`` (picklable too, None without it) computed there as well."""
        raw = await self.client.search_jql_raw(
            query,
            next_page_token=next_page_token,
            max_results=min(max_results, ISSUE_PAGE),
            fields=SYNC_FIELDS,
            properties=SYNC_PROPERTIES,
        )
        args = (raw, self.credentials.base_url, self.options, self.scope, prepare)
        if len(raw) < OFFLOAD_MIN_BYTES:
            mapped = map_search_page(*args)
        else:
            mapped = await offload(map_search_page, *args)
        if mapped is None:
            raise not_json_object()
        return mapped

    def issues_from_search(self, body: dict[str, Any]) -> tuple[list[NormalizedIssue], str | None]:
        """A search answer's issues, normalized, and its next page token."""
        return issues_from_search(body, self.credentials.base_url, self.options, self.scope)

    async def iter_issue_ids(self, query: str) -> AsyncIterator[list[str]]:
        token: str | None = None
        while True:
            body = await self.client.search_jql(
                query, next_page_token=token, max_results=ID_PAGE, fields=["id"]
            )
            ids = [str(i["id"]) for i in body.get("issues") or ()]
            if ids:
                yield ids
            token = body.get("nextPageToken") or None
            if token is None:
                return

    async def count_issues(self, query: str) -> int:
        return await self.client.approximate_count(query)


def issues_from_search(
    body: dict[str, Any], base_url: str, options: JiraOptions, scope: str
) -> tuple[list[NormalizedIssue], str | None]:
    # issue_from_jira already leaves our reconciliation markers out of the tags.
    issues = [
        issue_from_jira(raw, base_url=base_url, options=options, scope=scope)
        for raw in body["issues"]
    ]
    return issues, body.get("nextPageToken") or None


def map_search_page(
    content: bytes,
    base_url: str,
    options: JiraOptions,
    scope: str,
    prepare: Callable[[list[NormalizedIssue]], Any] | None = None,
) -> tuple[list[NormalizedIssue], str | None, Any] | None:
    """A raw search answer, decoded and mapped, and ``prepare`` of the issues (run in the
    sync's helper process); None when it is not a JSON object."""
    body = search_body(content)
    if body is None:
        return None
    issues, token = issues_from_search(body, base_url, options, scope)
    return issues, token, None if prepare is None else prepare(issues)
