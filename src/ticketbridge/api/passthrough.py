"""Passthrough routes: live Jira data for dropdowns and ad-hoc JQL search.

The per-process cache, cursor signer and interactive retry policy (``PassthroughDep``) are
built by app.py's lifespan.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ticketbridge.api.deps import ConnectionDep, PassthroughDep, RuntimeDep
from ticketbridge.api.pagination import OffsetDep, OffsetParams, Page
from ticketbridge.passthrough.cursor import MAX_CURSOR_LENGTH
from ticketbridge.passthrough.schemas import IssueTypeItem, ProjectItem, SearchPage, UserItem
from ticketbridge.passthrough.service import PassthroughService, open_service, parse_fields

router = APIRouter(prefix="/v1/itsm/passthrough", tags=["passthrough"])


async def get_service(
    runtime: RuntimeDep, resources: PassthroughDep, conn: ConnectionDep
) -> PassthroughService:
    # No unit of work: the connection comes from the cache or a short session of its own,
    # so no database connection waits out the vendor call with us.
    return open_service(runtime, resources, conn)


ServiceDep = Annotated[PassthroughService, Depends(get_service)]


def vendor_json(content: Any) -> Response:
    """The answer, encoded once: it is mostly the vendor's own objects, already JSON-ready
    (the route's ``response_model`` documents it; FastAPI does not re-validate a Response)."""
    return Response(orjson.dumps(content), media_type="application/json")


def vendor_page(items: list[dict[str, Any]], total: int | None, page: OffsetParams) -> Response:
    return vendor_json({"items": items, "total": total, "limit": page.limit, "offset": page.offset})


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown project key, or a connection the caller may not see"},
    422: {
        "description": "Invalid parameter (loc names it), Jira's JQL message, or a cursor refused"
    },
    429: {"description": "Jira kept rate limiting past the short retry budget (Retry-After)"},
    502: {"description": "Jira refused the connection's credentials"},
    503: {"description": "Jira unavailable after retries"},
    504: {"description": "Jira did not answer in time"},
}


@router.get("/projects", response_model=Page[ProjectItem], responses=_ERRORS)
async def list_projects(
    service: ServiceDep,
    page: OffsetDep,
    expand_issue_types: bool = False,
    query: Annotated[
        str | None, Query(max_length=200, description="Jira's filter on project key or name")
    ] = None,
) -> Response:
    items, total = await service.projects(
        offset=page.offset, limit=page.limit, query=query, expand_issue_types=expand_issue_types
    )
    return vendor_page(items, total, page)


@router.get(
    "/projects/{project_key}/issue-types", response_model=Page[IssueTypeItem], responses=_ERRORS
)
async def list_issue_types(project_key: str, service: ServiceDep, page: OffsetDep) -> Response:
    items, total = await service.issue_types(project_key, offset=page.offset, limit=page.limit)
    return vendor_page(items, total, page)


@router.get(
    "/projects/{project_key}/assignable-users", response_model=Page[UserItem], responses=_ERRORS
)
async def list_assignable_users(
    project_key: str,
    service: ServiceDep,
    page: OffsetDep,
    query: Annotated[
        str | None, Query(max_length=200, description="Prefix of a name or email (Jira's match)")
    ] = None,
) -> Response:
    items, total = await service.assignable_users(
        project_key, query=query or None, offset=page.offset, limit=page.limit
    )
    return vendor_page(items, total, page)


# ``normalized`` is left out of items unless asked for (Jira's shape only).
@router.get("/tickets/search", response_model=SearchPage, responses=_ERRORS)
async def search_tickets(
    service: ServiceDep,
    jql: Annotated[
        str | None,
        Query(min_length=1, max_length=5000, description="Jira connections: the JQL query"),
    ] = None,
    query: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=5000,
            description="Vendors with their own query language (ServiceNow: an encoded query)",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    fields: Annotated[
        str | None,
        Query(max_length=4000, description="Comma-separated Jira field ids for each item's fields"),
    ] = None,
    normalized: Annotated[
        bool, Query(description="Add our normalized view of each issue beside its fields")
    ] = False,
) -> Response:
    return vendor_json(
        await service.search(
            queries={"jql": jql, "query": query},
            cursor=cursor or None,
            limit=limit,
            fields=parse_fields(fields),
            normalized=normalized,
        )
    )
