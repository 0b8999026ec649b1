"""Read-only metadata routes: serverInfo, myself, field, priority, issuetype, projects,
create-metadata issue types, assignable users, and the removed ``/search``.

Paging follows each endpoint's documented style: ``project/search`` is a ``PageBean`` with an
absolute ``nextPage`` URL built from the request's own base URL; ``createmeta`` issue types is
``{issueTypes, startAt, maxResults, total}`` (Cloud's key, not Data Center's ``values``);
``user/assignable/search`` is a bare array with no total.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response

from .context import Ctx, JiraJSON, JiraRoute
from .errors import SEARCH_REMOVED, JiraError
from .model import FIELDS, ISSUE_TYPES, PRIORITIES, Project, jira_time
from .render import (
    field_json,
    issuetype_json,
    myself_json,
    priority_json,
    project_json,
    status_json,
    user_json,
)

VERSION = "1001.0.0-SNAPSHOT"
VERSION_NUMBERS = [1001, 0, 0]
BUILD_NUMBER = 100288
BUILD_DATE = "2025-06-02T00:00:00.000+0000"


def server_info(ctx: Ctx) -> Response:
    return JiraJSON(
        {
            "baseUrl": ctx.base,
            "displayUrl": ctx.base,
            "displayUrlServicedeskHelpCenter": ctx.base,
            "displayUrlConfluence": f"{ctx.base}/wiki",
            "version": VERSION,
            "versionNumbers": VERSION_NUMBERS,
            "deploymentType": "Cloud",
            "buildNumber": BUILD_NUMBER,
            "buildDate": BUILD_DATE,
            "serverTime": jira_time(ctx.site.now_ms()),
            "scmInfo": "f7e3ffc1e5d3b1c4bdbf4a2b8f5c0d6e2f1a9b8c",
            "serverTitle": "Jira",
        }
    )


def myself(ctx: Ctx) -> Response:
    assert ctx.user is not None
    return JiraJSON(myself_json(ctx.base, ctx.user, api=ctx.api))


def fields(ctx: Ctx) -> Response:
    return JiraJSON([field_json(f) for f in FIELDS])


def priorities(ctx: Ctx) -> Response:
    return JiraJSON([priority_json(ctx.base, p, api=ctx.api) for p in PRIORITIES])


def issue_types(ctx: Ctx) -> Response:
    return JiraJSON([issuetype_json(ctx.base, t, api=ctx.api) for t in ISSUE_TYPES])


def _expand(ctx: Ctx) -> set[str]:
    return {e.strip() for item in ctx.query_list("expand") for e in item.split(",") if e.strip()}


def projects(ctx: Ctx) -> Response:
    expand = _expand(ctx)
    return JiraJSON(
        [
            project_json(ctx.base, ctx.site, p, expand=expand, api=ctx.api)
            for p in ctx.site.projects.values()
        ]
    )


def project_search(ctx: Ctx) -> Response:
    start = ctx.int_query("startAt", 0)
    size = ctx.int_query("maxResults", 50, low=1, high=100)
    query = (ctx.query("query") or "").lower()
    keys = {k.strip() for item in ctx.query_list("keys") for k in item.split(",") if k.strip()}
    found: list[Project] = [
        p
        for p in ctx.site.projects.values()
        if (not query or query in p.key.lower() or query in p.name.lower())
        and (not keys or p.key in keys or p.id in keys)
    ]
    found.sort(key=lambda p: p.name.lower())
    page = found[start : start + size]
    expand = _expand(ctx)
    here = f"{ctx.base}{ctx.template}"
    params = [
        (k, v)
        for k, v in ctx.request.query_params.multi_items()
        if k not in ("startAt", "maxResults")
    ]
    body: dict[str, object] = {
        "self": f"{here}?{urlencode([*params, ('startAt', start), ('maxResults', size)])}",
        "maxResults": size,
        "startAt": start,
        "total": len(found),
        "isLast": start + size >= len(found),
        "values": [project_json(ctx.base, ctx.site, p, expand=expand, api=ctx.api) for p in page],
    }
    if not body["isLast"]:
        body["nextPage"] = (
            f"{here}?{urlencode([*params, ('startAt', start + size), ('maxResults', size)])}"
        )
    return JiraJSON(body)


def _project(ctx: Ctx, name: str = "projectIdOrKey") -> Project:
    ref = ctx.path_param(name)
    project = ctx.site.find_project(ref) or ctx.site.find_project(ref.upper())
    if project is None:
        raise JiraError(404, f"No project could be found with key '{ref}'.")
    return project


def project(ctx: Ctx) -> Response:
    return JiraJSON(
        project_json(ctx.base, ctx.site, _project(ctx), expand=_expand(ctx), full=True, api=ctx.api)
    )


def createmeta_issue_types(ctx: Ctx) -> Response:
    _project(ctx)
    start = ctx.int_query("startAt", 0)
    size = ctx.int_query("maxResults", 50, low=1, high=200)
    page = ISSUE_TYPES[start : start + size]
    return JiraJSON(
        {
            "issueTypes": [issuetype_json(ctx.base, t, api=ctx.api) for t in page],
            "maxResults": size,
            "startAt": start,
            "total": len(ISSUE_TYPES),
        }
    )


def project_statuses(ctx: Ctx) -> Response:
    """The statuses of the project's workflow, per issue type (one workflow for all types)."""
    workflow = ctx.site.workflow_of(_project(ctx))
    statuses = [status_json(ctx.base, s, api=ctx.api) for s in workflow.statuses]
    return JiraJSON(
        [
            {
                "self": f"{ctx.base}{ctx.api}/issueType/{t.id}",
                "id": t.id,
                "name": t.name,
                "subtask": t.subtask,
                "statuses": statuses,
            }
            for t in ISSUE_TYPES
        ]
    )


def assignable_users(ctx: Ctx) -> Response:
    project_ref = ctx.query("project")
    issue_ref = ctx.query("issueKey") or ctx.query("issueId")
    if project_ref:
        if ctx.site.find_project(project_ref) is None:
            raise JiraError(404, f"No project could be found with key '{project_ref}'.")
    elif issue_ref:
        ctx.site.require_issue(issue_ref)
    else:
        raise JiraError(400, "A project or issue key or id must be specified.")
    query = (ctx.query("query") or ctx.query("username") or "").strip().lower()
    account_id = ctx.query("accountId")
    start = ctx.int_query("startAt", 0)
    size = ctx.int_query("maxResults", 50, low=0, high=1000)
    matches = []
    for user in ctx.site.users.values():
        if not user.active or (account_id and user.account_id != account_id):
            continue
        words = [user.email.lower(), *user.display_name.lower().split()]
        if query and not (
            user.display_name.lower().startswith(query) or any(w.startswith(query) for w in words)
        ):
            continue
        matches.append(user)
    matches.sort(key=lambda u: (u.display_name.lower(), u.account_id))
    return JiraJSON([user_json(ctx.base, u, api=ctx.api) for u in matches[start : start + size]])


def search_removed(ctx: Ctx) -> Response:
    raise JiraError(410, SEARCH_REMOVED)


ROUTES = (
    JiraRoute(("GET",), "/serverInfo", server_info, anonymous=True),
    JiraRoute(("GET",), "/myself", myself),
    JiraRoute(("GET",), "/field", fields),
    JiraRoute(("GET",), "/priority", priorities),
    JiraRoute(("GET",), "/issuetype", issue_types),
    JiraRoute(("GET",), "/project", projects),
    JiraRoute(("GET",), "/project/search", project_search),
    JiraRoute(("GET",), "/project/{projectIdOrKey}", project),
    JiraRoute(("GET",), "/project/{projectIdOrKey}/statuses", project_statuses),
    JiraRoute(("GET",), "/issue/createmeta/{projectIdOrKey}/issuetypes", createmeta_issue_types),
    JiraRoute(("GET",), "/user/assignable/search", assignable_users),
    JiraRoute(("GET", "POST"), "/search", search_removed, anonymous=True),
)
