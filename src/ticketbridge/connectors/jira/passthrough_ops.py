"""Live passthrough reads for dropdowns and ad-hoc JQL search.

A caller's ``offset``/``limit`` window maps to Jira's ``startAt``/``maxResults``. Jira caps
its page sizes (``project/search`` 100, create-meta issue types 200), so a wider window is
fetched as several Jira pages: the first one tells the total (and the page size Jira really
serves), the rest go out concurrently; the per-connection limiter in ``VendorHttp`` bounds
them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ticketbridge.connectors.base import (
    LiveIssueTypePage,
    LiveProjectPage,
    LiveSearchPage,
    LiveTicket,
    LiveUserPage,
)
from ticketbridge.connectors.jira.mapping import issue_from_jira
from ticketbridge.connectors.jira.passthrough_mapping import (
    FieldPlan,
    issue_type_record,
    live_project_from_jira,
    user_record,
    vendor_issue,
)

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions

PROJECT_PAGE_MAX = 100
ISSUE_TYPE_PAGE_MAX = 200
# Jira documents no cap for assignable users; Cloud serves up to 1000, our API's largest limit.
USER_PAGE_MAX = 1000

T = TypeVar("T")
# fetch(startAt, maxResults) -> (values, total, the page size Jira says it served)
Fetch = Callable[[int, int], Awaitable[tuple[list[dict[str, Any]], int | None, int]]]


async def _all(coros: Sequence[Awaitable[T]]) -> list[T]:
    """``gather`` that cancels the other requests when one fails (no orphaned calls)."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def fetch_window(
    fetch: Fetch, offset: int, limit: int, page_max: int
) -> tuple[list[dict[str, Any]], int | None]:
    """The values at ``[offset, offset + limit)`` and the total (None when Jira gives none)."""
    if limit <= page_max:
        values, total, _ = await fetch(offset, limit)
        return values[:limit], total
    first, total, served = await fetch(offset, page_max)
    # Jira may serve smaller pages than asked: step by what it served, not by what we asked.
    step = max(1, min(served, page_max))
    end = offset + limit if total is None else min(offset + limit, total)
    starts = range(offset + step, end, step)
    rest = await _all([fetch(start, min(step, end - start)) for start in starts])
    values = first[:step] + [v for page, _, _ in rest for v in page]
    return values[:limit], total


class PassthroughOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions

    async def live_projects(
        self, *, offset: int, limit: int, query: str | None, with_issue_types: bool
    ) -> LiveProjectPage:
        expand = "issueTypes" if with_issue_types else None

        async def fetch(start: int, size: int) -> tuple[list[dict[str, Any]], int | None, int]:
            body = await self.client.search_projects(
                start_at=start, max_results=size, query=query, expand=expand
            )
            return body.get("values") or [], body.get("total"), int(body.get("maxResults", size))

        values, total = await fetch_window(fetch, offset, limit, PROJECT_PAGE_MAX)
        items = [live_project_from_jira(v, with_issue_types=with_issue_types) for v in values]
        return LiveProjectPage(items=items, total=int(total or 0))

    async def live_issue_types(
        self, project_key: str, *, offset: int, limit: int
    ) -> LiveIssueTypePage:
        async def fetch(start: int, size: int) -> tuple[list[dict[str, Any]], int | None, int]:
            body = await self.client.project_issue_types(
                project_key, start_at=start, max_results=size
            )
            # Cloud answers ``issueTypes``; Data Center ``values``.
            values = body.get("issueTypes", body.get("values")) or []
            return values, body.get("total"), int(body.get("maxResults", size))

        values, total = await fetch_window(fetch, offset, limit, ISSUE_TYPE_PAGE_MAX)
        return LiveIssueTypePage(
            items=[issue_type_record(v) for v in values], total=int(total or 0)
        )

    async def live_assignable_users(
        self, project_key: str, *, query: str | None, offset: int, limit: int
    ) -> LiveUserPage:
        async def fetch(start: int, size: int) -> tuple[list[dict[str, Any]], int | None, int]:
            users = await self.client.assignable_users(
                project_key, query=query, start_at=start, max_results=size
            )
            return users, None, size

        values, _ = await fetch_window(fetch, offset, limit, USER_PAGE_MAX)
        # A short page does not mean the end: Jira filters each window after fetching it.
        return LiveUserPage(items=[user_record(v) for v in values], total=None)

    async def live_search(
        self,
        query: str,
        *,
        page_token: str | None,
        limit: int,
        fields: Sequence[str] | None,
        normalized: bool = False,
    ) -> LiveSearchPage:
        plan = FieldPlan.of(fields, normalized=normalized)
        body = await self.client.search_jql(
            query, next_page_token=page_token, max_results=limit, fields=plan.request
        )
        base_url = self.credentials.base_url
        items = [
            LiveTicket(
                vendor=vendor_issue(issue, plan),
                # Only on request: the ADF -> Markdown conversion dominates a search's cost.
                normalized=issue_from_jira(issue, base_url=base_url, options=self.options)
                if normalized
                else None,
            )
            for issue in body.get("issues") or []
        ]
        token = body.get("nextPageToken")
        last = body.get("isLast") is True or not token
        return LiveSearchPage(items=items, next_page_token=None if last else str(token))
