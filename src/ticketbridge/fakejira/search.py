"""JQL search with ``nextPageToken`` paging (``/search/jql``, ``/search/approximate-count``).

The first page of a query evaluates the JQL (``ticketbridge.fakejira.jql``) over every issue's
search document, sorts the matches once and snapshots the sorted id list. Each page hands out an
opaque, random ``nextPageToken`` that maps to ``(query, snapshot, position)`` for a limited time
(:data:`TOKEN_TTL_S`); later pages slice the snapshot instead of searching again, so walking
100k issues costs one evaluation, not one per page. As in Jira, a token belongs to the query that
produced it: a token that is unknown, expired, or sent with a different JQL is a 400.

Like Jira's eventually consistent search, a page lists the issues that matched when the walk
started (issues deleted since are skipped) but renders their current field values.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BAD_PAGE_TOKEN, UNBOUNDED_JQL, JiraError
from .jql import JqlContext, JqlError, compile_jql
from .model import (
    ISSUE_TYPES_BY_ID,
    PRIORITIES_BY_ID,
    RESOLUTIONS_BY_ID,
    STATUSES,
    Issue,
)

if TYPE_CHECKING:
    from .state import Site

TOKEN_TTL_S = 30 * 60.0
MAX_TOKENS = 2000


@dataclass(frozen=True)
class _Cursor:
    jql: str
    ids: tuple[int, ...]
    position: int
    expires: float


class SearchEngine:
    """Per-site query evaluation and the token -> cursor table."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.tokens: OrderedDict[str, _Cursor] = OrderedDict()
        self.evaluations = 0  # how many full JQL evaluations ran (tests assert paging reuses)

    def _context(self, account_id: str | None) -> JqlContext:
        return JqlContext(now_ms=self.site.now_ms(), current_account_id=account_id)

    def matching_ids(
        self, jql: str, account_id: str | None, *, require_bounded: bool = True
    ) -> tuple[int, ...]:
        """All matching issue ids in the query's order (raises ``JiraError`` 400 on bad JQL)."""
        try:
            compiled = compile_jql(jql)
        except JqlError as exc:
            raise JiraError(400, str(exc)) from None
        if require_bounded and not compiled.has_where:
            raise JiraError(400, UNBOUNDED_JQL)
        ctx = self._context(account_id)
        doc_of = self.site.search_doc
        matches = compiled.matches
        docs = [d for d in map(doc_of, self.site.issues.values()) if matches(d, ctx)]
        docs.sort(key=compiled.sort_key)
        self.evaluations += 1
        return tuple(d["id"] for d in docs)

    def count(self, jql: str, account_id: str | None) -> int:
        return len(self.matching_ids(jql, account_id))

    def page(
        self, jql: str, token: str | None, max_results: int, account_id: str | None
    ) -> tuple[list[Issue], str | None]:
        """One page of issues and the token for the next one (``None`` on the last page)."""
        now = time.monotonic()
        if token:
            cursor = self.tokens.get(token)
            if cursor is None or cursor.expires < now or cursor.jql != jql:
                raise JiraError(400, BAD_PAGE_TOKEN)
            ids, start = cursor.ids, cursor.position
        else:
            ids, start = self.matching_ids(jql, account_id), 0
        end = start + max_results
        issues = [i for i in (self.site.issues.get(n) for n in ids[start:end]) if i is not None]
        next_token = None
        if end < len(ids):
            next_token = secrets.token_urlsafe(24)
            self._remember(next_token, _Cursor(jql, ids, end, now + TOKEN_TTL_S), now)
        return issues, next_token

    def _remember(self, token: str, cursor: _Cursor, now: float) -> None:
        # Bounded memory: drop expired tokens, then the oldest beyond MAX_TOKENS.
        while self.tokens:
            oldest_token, oldest = next(iter(self.tokens.items()))
            if oldest.expires >= now and len(self.tokens) < MAX_TOKENS:
                break
            del self.tokens[oldest_token]
        self.tokens[token] = cursor


# Search documents only ever get read, so their constant parts are shared between issues:
# with 100k issues this halves the time to build them and saves most of their memory.
_TYPE_REFS = {t.id: {"id": t.id, "name": t.name} for t in ISSUE_TYPES_BY_ID.values()}
_STATUS_REFS = {s.id: {"id": s.id, "name": s.name} for s in STATUSES.values()}
_CATEGORY_REFS = {
    s.id: {"id": s.category.id, "key": s.category.key, "name": s.category.name}
    for s in STATUSES.values()
}
_RESOLUTION_REFS = {r.id: {"id": r.id, "name": r.name} for r in RESOLUTIONS_BY_ID.values()}
_PRIORITY_REFS = {p.id: {"id": p.id, "name": p.name} for p in PRIORITIES_BY_ID.values()}


def build_search_doc(site: Site, issue: Issue) -> dict[str, Any]:
    """The document ``ticketbridge.fakejira.jql`` evaluates for ``issue`` (read-only)."""
    parent = site.issues.get(issue.parent_id) if issue.parent_id is not None else None
    return {
        "id": issue.id,
        "key": issue.key,
        "project": site.project_ref(issue.project_id),
        "issuetype": _TYPE_REFS[issue.issuetype_id],
        "status": _STATUS_REFS[issue.status_id],
        "statusCategory": _CATEGORY_REFS[issue.status_id],
        "resolution": _RESOLUTION_REFS.get(issue.resolution_id) if issue.resolution_id else None,
        "priority": _PRIORITY_REFS.get(issue.priority_id) if issue.priority_id else None,
        "assignee": issue.assignee,
        "reporter": issue.reporter,
        "labels": issue.labels,
        "parent": {"id": str(parent.id), "key": parent.key} if parent else None,
        "summary": issue.summary,
        "description_text": issue.description_text,
        "created": issue.created,
        "updated": issue.updated,
        "duedate": issue.duedate,
    }
