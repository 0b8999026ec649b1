"""Live vendor reads that bypass the store: dropdown lists and ad-hoc search.

Latency here is the vendor's plus ours, and a person is waiting, so the vendor is given a
short retry budget (a 429 whose ``Retry-After`` exceeds it goes straight back to the caller
with that ``Retry-After``), the dropdown lists can be cached for a few seconds, and nothing
touches the database after the connection has been read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ticketbridge.connectors import LiveTicket, PassthroughConnector, RetryPolicy, for_connection
from ticketbridge.crypto import load_secret_key
from ticketbridge.errors import (
    NotFound,
    Unprocessable,
    VendorError,
    VendorNotFound,
    VendorRejected,
)
from ticketbridge.passthrough.cache import TtlCache
from ticketbridge.passthrough.cursor import CursorSigner, derive_key, query_digest
from ticketbridge.passthrough.schemas import project_json, record_json, ticket_json
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Connection
from ticketbridge.tickets.schemas import NormalizedTicket

# Interactive budget: one or two short waits at most, then the caller decides.
MAX_ATTEMPTS = 3
MAX_RETRY_WAIT_SECS = 2.0
MAX_FIELDS = 100
# Jira project keys (letters, digits, underscore; a letter first) or numeric project ids.
# Anything else cannot name a project, and could smuggle "/" or ".." into a vendor URL.
PROJECT_REF = re.compile(r"(?:[A-Za-z][A-Za-z0-9_]{0,99}|[0-9]{1,20})")
JSON = dict[str, Any]  # a JSON-ready answer (the route encodes it as it is)
FIELD_TOKEN = re.compile(r"(?:\*all|\*navigable|\*none|-?[A-Za-z0-9_.\[\]]{1,100})")


@dataclass
class PassthroughResources:
    """Per-process state of the passthrough endpoints (built by app.py's lifespan)."""

    cache: TtlCache
    cursors: CursorSigner
    policy: RetryPolicy

    @classmethod
    def create(cls, runtime: Runtime) -> PassthroughResources:
        base = runtime.connectors.policy
        # ``replace`` keeps the shared policy's sleep function (tests observe waits through it).
        policy = replace(
            base,
            max_attempts=min(base.max_attempts, MAX_ATTEMPTS),
            max_total_wait=min(base.max_total_wait, MAX_RETRY_WAIT_SECS),
        )
        return cls(
            cache=TtlCache(runtime.settings.passthrough_cache_ttl_secs),
            cursors=CursorSigner(derive_key(load_secret_key(runtime.settings))),
            policy=policy,
        )


def parse_fields(raw: str | None) -> list[str] | None:
    """``fields=a,b,-c`` -> ``["a", "b", "-c"]``; absent or blank -> None (the default set)."""
    if raw is None:
        return None
    tokens = [t.strip() for t in raw.split(",") if t.strip()]
    if not tokens:
        return None
    if len(tokens) > MAX_FIELDS:
        raise Unprocessable(f"at most {MAX_FIELDS} fields", field="fields", location="query")
    bad = [t for t in tokens if not FIELD_TOKEN.fullmatch(t)]
    if bad:
        raise Unprocessable(
            f"not a Jira field id: {bad[0][:100]!r} (use ids such as summary, "
            "customfield_10010, *all, *navigable, -comment)",
            field="fields",
            location="query",
        )
    return list(dict.fromkeys(tokens))


def _check_project(project_key: str) -> None:
    if not PROJECT_REF.fullmatch(project_key):
        raise Unprocessable("not a Jira project key or id", field="project_key", location="path")


def _project_not_found(project_key: str) -> NotFound:
    return NotFound(
        f"project {project_key!r} not found in Jira (or not visible to this connection)"
    )


class PassthroughService:
    def __init__(
        self,
        resources: PassthroughResources,
        connector: PassthroughConnector,
        *,
        connection_id: str,
        connection_version: datetime | None,
    ) -> None:
        self.resources = resources
        self.connector = connector
        self.connection_id = connection_id
        self._version = connection_version

    def _key(self, *parts: Any) -> tuple[Any, ...]:
        return (self.connection_id, self._version, *parts)

    async def projects(
        self, *, offset: int, limit: int, query: str | None, expand_issue_types: bool
    ) -> tuple[list[JSON], int]:
        key = self._key("projects", offset, limit, query, expand_issue_types)
        cached: tuple[list[JSON], int] | None = self.resources.cache.get(key)
        if cached is not None:
            return cached
        page = await self.connector.live_projects(
            offset=offset, limit=limit, query=query, with_issue_types=expand_issue_types
        )
        result = ([project_json(p) for p in page.items], page.total)
        self.resources.cache.put(key, result)
        return result

    async def issue_types(
        self, project_key: str, *, offset: int, limit: int
    ) -> tuple[list[JSON], int]:
        _check_project(project_key)
        key = self._key("issue-types", project_key, offset, limit)
        cached: tuple[list[JSON], int] | None = self.resources.cache.get(key)
        if cached is not None:
            return cached
        try:
            page = await self.connector.live_issue_types(project_key, offset=offset, limit=limit)
        except VendorNotFound:
            raise _project_not_found(project_key) from None
        result = ([record_json(t) for t in page.items], page.total)
        self.resources.cache.put(key, result)
        return result

    async def assignable_users(
        self, project_key: str, *, query: str | None, offset: int, limit: int
    ) -> tuple[list[JSON], int | None]:
        _check_project(project_key)
        key = self._key("assignable-users", project_key, query, offset, limit)
        cached: tuple[list[JSON], int | None] | None = self.resources.cache.get(key)
        if cached is not None:
            return cached
        try:
            page = await self.connector.live_assignable_users(
                project_key, query=query, offset=offset, limit=limit
            )
        except VendorNotFound:
            raise _project_not_found(project_key) from None
        result = ([record_json(u) for u in page.items], page.total)
        self.resources.cache.put(key, result)
        return result

    def search_query(self, queries: Mapping[str, str | None]) -> tuple[str, str]:
        """(the parameter the vendor's query language is sent in, the query). Each vendor
        has its own (``jql`` for Jira, ``query`` for ServiceNow's encoded queries): the other
        one is refused with a 422 saying which to use, a missing one is a 422 naming it."""
        caps = self.connector.capabilities
        wanted = caps.search_parameter
        for name, value in queries.items():
            if name != wanted and value is not None:
                raise Unprocessable(
                    f"{caps.display_name} connections take their search ({caps.search_language})"
                    f" in the {wanted!r} parameter, not {name!r}",
                    field=name,
                    location="query",
                )
        query = queries.get(wanted)
        if query is None:
            error = Unprocessable("Field required")
            error.detail = [{"loc": ["query", wanted], "msg": "Field required", "type": "missing"}]
            raise error
        return wanted, query

    async def search(
        self,
        *,
        queries: Mapping[str, str | None],
        cursor: str | None,
        limit: int,
        fields: list[str] | None,
        normalized: bool = False,
    ) -> JSON:
        """``SearchPage``'s JSON: ``{items, next_cursor}``."""
        param, query = self.search_query(queries)
        vendor = self.connector.capabilities.display_name
        cursors = self.resources.cursors
        digest = query_digest(query, fields, limit)
        token = None
        if cursor:
            token = cursors.open(cursor, connection_id=self.connection_id, digest=digest)
        try:
            page = await self.connector.live_search(
                query, page_token=token, limit=limit, fields=fields, normalized=normalized
            )
        except VendorRejected as exc:
            if exc.vendor_status != 400:
                raise
            said = "; ".join(exc.error_messages + [f"{k}: {v}" for k, v in exc.errors.items()])
            if token is not None:
                # The query produced this token, so a 400 now is about the token: Jira's
                # page tokens expire.
                raise Unprocessable(
                    f"the cursor has expired at {vendor}; start the search again without a "
                    "cursor" + (f" ({vendor}: {said})" if said else ""),
                    field="cursor",
                    location="query",
                ) from None
            raise Unprocessable(said or exc.message, field=param, location="query") from None
        next_cursor = None
        if page.next_page_token:
            next_cursor = cursors.seal(
                connection_id=self.connection_id, digest=digest, token=page.next_page_token
            )
        return {"items": [_ticket_item(t) for t in page.items], "next_cursor": next_cursor}


def _ticket_item(ticket: LiveTicket) -> JSON:
    normalized = None
    if ticket.normalized is not None:  # only when asked for: absent from the item otherwise
        normalized = NormalizedTicket.from_issue(ticket.normalized).model_dump(mode="json")
    try:
        return ticket_json(ticket.vendor, normalized)
    except ValueError:
        # Not Jira's issue shape (no string id/key): the vendor's fault, not a 500 of ours.
        raise VendorError(
            "unexpected answer from the vendor (an issue without id or key)"
        ) from None


def open_service(
    runtime: Runtime, resources: PassthroughResources, conn: Connection
) -> PassthroughService:
    """The service for one request, over a connector built with the interactive policy."""
    connector = for_connection(conn, runtime, policy=resources.policy)
    if not isinstance(connector, PassthroughConnector):
        raise Unprocessable(
            f"passthrough endpoints need a connection whose vendor offers live reads; "
            f"{conn.vendor} does not",
            field="X-CONNECTION-ID",
            location="header",
        )
    return PassthroughService(
        resources, connector, connection_id=str(conn.id), connection_version=conn.updated_at
    )
