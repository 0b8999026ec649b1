"""Enhanced JQL search: ``GET|POST /search/jql`` and ``POST /search/approximate-count``.

As in Jira Cloud: GET reads only the query string and POST only the JSON body (a
``SearchAndReconcileRequestBean``; unknown keys are refused); ``fields`` defaults to ``id``
alone; ``maxResults`` defaults to 50, must be 1..5000, and pages hold at most 100 issues unless
only ``id``/``key`` are requested; the answer is ``{issues, nextPageToken?, isLast}`` with no
``total``; a query without a search restriction is refused. ``reconcileIssues`` is accepted and
ignored: the emulator is strongly consistent already.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .context import Ctx, JiraJSON, JiraRoute
from .errors import JiraError
from .model import FIELDS_BY_ID
from .render import IssueRenderer, select_fields

MAX_RESULTS_DEFAULT = 50
MAX_RESULTS_IDS = 5000
MAX_RESULTS_FIELDS = 100
MAX_PROPERTIES = 5
_BODY_KEYS = frozenset(
    {
        "jql",
        "nextPageToken",
        "maxResults",
        "fields",
        "expand",
        "properties",
        "fieldsByKeys",
        "reconcileIssues",
        "failFast",
    }
)


def _strings(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise JiraError(400, f"'{name}' must be a list of strings.")


def _search(
    ctx: Ctx,
    jql: str,
    token: str | None,
    max_results: int,
    fields: list[str],
    expand: list[str],
    properties: list[str],
) -> Response:
    if not 1 <= max_results <= MAX_RESULTS_IDS:
        raise JiraError(400, "The maxResults parameter must be between 1 and 5000.")
    keys = [k for item in properties for k in item.split(",") if k.strip()]
    if len(keys) > MAX_PROPERTIES:
        raise JiraError(400, f"You can request at most {MAX_PROPERTIES} properties.")
    field_ids, id_only = select_fields(fields, ("id",))
    if field_ids:
        max_results = min(max_results, MAX_RESULTS_FIELDS)
    issues, next_token = ctx.site.search.page(jql, token, max_results, ctx.account_id)
    if id_only and not keys:
        rendered = [{"id": str(i.id)} for i in issues]
    else:
        renderer = IssueRenderer(ctx.site, ctx.base, ctx.api_version, field_ids, keys)
        rendered = [renderer.issue(i) for i in issues]
    body: dict[str, Any] = {"issues": rendered}
    if next_token is not None:
        body["nextPageToken"] = next_token
    body["isLast"] = next_token is None
    if any("names" in e.split(",") for e in expand):
        body["names"] = {f: FIELDS_BY_ID[f].name for f in field_ids if f in FIELDS_BY_ID}
    return JiraJSON(body)


def search_get(ctx: Ctx) -> Response:
    return _search(
        ctx,
        jql=ctx.query("jql") or "",
        token=ctx.query("nextPageToken"),
        max_results=ctx.int_query("maxResults", MAX_RESULTS_DEFAULT, low=-(2**31)),
        fields=ctx.query_list("fields"),
        expand=ctx.query_list("expand"),
        properties=ctx.query_list("properties"),
    )


def search_post(ctx: Ctx) -> Response:
    body = ctx.json()
    unknown = set(body) - _BODY_KEYS
    if unknown:
        raise JiraError(400, f'Unrecognized field "{sorted(unknown)[0]}" in the request body.')
    max_results = body.get("maxResults")
    if max_results is None:
        max_results = MAX_RESULTS_DEFAULT
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise JiraError(400, "'maxResults' must be an integer.")
    jql, token = body.get("jql") or "", body.get("nextPageToken")
    if not isinstance(jql, str) or not (token is None or isinstance(token, str)):
        raise JiraError(400, "'jql' and 'nextPageToken' must be strings.")
    return _search(
        ctx,
        jql,
        token,
        max_results,
        _strings(body.get("fields"), "fields"),
        _strings(body.get("expand"), "expand"),
        _strings(body.get("properties"), "properties"),
    )


def approximate_count(ctx: Ctx) -> Response:
    body = ctx.json()
    jql = body.get("jql") or ""
    if not isinstance(jql, str):
        raise JiraError(400, "'jql' must be a string.")
    return JiraJSON({"count": ctx.site.search.count(jql, ctx.account_id)})


ROUTES = (
    JiraRoute(("GET",), "/search/jql", search_get),
    JiraRoute(("POST",), "/search/jql", search_post),
    JiraRoute(("POST",), "/search/approximate-count", approximate_count),
)
