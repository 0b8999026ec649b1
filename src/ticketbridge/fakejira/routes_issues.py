"""Issue routes: create, bulk create, get, edit, delete, and workflow transitions.

``description`` is ADF in v3 and a plain string in v2 (see :mod:`text`). ``POST /issue/bulk``
takes at most 50 ``issueUpdates``; every item is validated and created on its own, the answer is
201 if any succeeded and 400 if all failed, always in the ``CreatedIssues`` shape (``issues`` in
input order, ``errors`` with the 0-based ``failedElementNumber``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .context import Ctx, JiraJSON, JiraRoute, no_content
from .errors import JiraError
from .model import FIELDS_BY_ID, Issue
from .render import ALL_FIELD_IDS, IssueRenderer, select_fields, transition_json

MAX_BULK_CREATE = 50


def _created(ctx: Ctx, issue: Issue) -> dict[str, str]:
    return {"id": str(issue.id), "key": issue.key, "self": f"{ctx.base}{ctx.api}/issue/{issue.id}"}


def create_issue(ctx: Ctx) -> Response:
    issue = ctx.site.create_issue(ctx.json(), api_version=ctx.api_version, actor=ctx.user)
    return JiraJSON(_created(ctx, issue), status_code=201)


def _bulk_failure(message: str) -> Response:
    error = {"status": 400, "elementErrors": {"errorMessages": [message], "errors": {}}}
    return JiraJSON({"issues": [], "errors": [error]}, status_code=400)


def create_issues(ctx: Ctx) -> Response:
    try:
        body = ctx.json()
    except JiraError as exc:
        return _bulk_failure(exc.messages[0])
    updates = body.get("issueUpdates")
    if not isinstance(updates, list) or not updates:
        return _bulk_failure("Issue updates must be a non-empty list.")
    if len(updates) > MAX_BULK_CREATE:
        return _bulk_failure(
            f"The number of issues to create ({len(updates)}) exceeds the maximum of "
            f"{MAX_BULK_CREATE} issues per request."
        )
    issues: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    for index, update in enumerate(updates):
        try:
            issue = ctx.site.create_issue(update, api_version=ctx.api_version, actor=ctx.user)
        except JiraError as exc:
            errors.append(
                {
                    "status": exc.status,
                    "elementErrors": exc.collection(),
                    "failedElementNumber": index,
                }
            )
        else:
            issues.append(_created(ctx, issue))
    return JiraJSON({"issues": issues, "errors": errors}, status_code=201 if issues else 400)


def _renderer(ctx: Ctx, default: tuple[str, ...]) -> IssueRenderer:
    field_ids, id_only = select_fields(ctx.query_list("fields"), default)
    if id_only:
        field_ids = []
    return IssueRenderer(
        ctx.site, ctx.base, ctx.api_version, field_ids, ctx.query_list("properties")
    )


def _expand(ctx: Ctx) -> set[str]:
    return {e.strip() for item in ctx.query_list("expand") for e in item.split(",") if e.strip()}


def issue_json(ctx: Ctx, issue: Issue, renderer: IssueRenderer) -> dict[str, Any]:
    data = renderer.issue(issue)
    expand = _expand(ctx)
    if "names" in expand:
        data["names"] = {f: FIELDS_BY_ID[f].name for f in data["fields"] if f in FIELDS_BY_ID}
    if "transitions" in expand or "transitions.fields" in expand:
        data["transitions"] = transitions_json(ctx, issue, "transitions.fields" in expand)
    return data


def transitions_json(
    ctx: Ctx, issue: Issue, with_fields: bool, only: str | None = None
) -> list[dict[str, Any]]:
    return [
        transition_json(
            ctx.base,
            t,
            api=ctx.api,
            screen=ctx.site.screen_of(issue, t),
            with_fields=with_fields,
        )
        for t in ctx.site.transitions_for(issue)
        if only in (None, t.id)
    ]


def get_issue(ctx: Ctx) -> Response:
    issue = ctx.site.require_issue(ctx.path_param("issueIdOrKey"))
    return JiraJSON(issue_json(ctx, issue, _renderer(ctx, ("*all",))))


def edit_issue(ctx: Ctx) -> Response:
    issue = ctx.site.require_issue(ctx.path_param("issueIdOrKey"))
    ctx.site.edit_issue(issue, ctx.json(), api_version=ctx.api_version)
    if ctx.flag("returnIssue"):
        renderer = IssueRenderer(ctx.site, ctx.base, ctx.api_version, ALL_FIELD_IDS)
        return JiraJSON(issue_json(ctx, issue, renderer))
    return no_content()


def delete_issue(ctx: Ctx) -> Response:
    issue = ctx.site.require_issue(ctx.path_param("issueIdOrKey"))
    ctx.site.delete_issue(issue, delete_subtasks=ctx.flag("deleteSubtasks"))
    return no_content()


def get_transitions(ctx: Ctx) -> Response:
    issue = ctx.site.require_issue(ctx.path_param("issueIdOrKey"))
    fields = "transitions.fields" in _expand(ctx)
    transitions = transitions_json(ctx, issue, fields, ctx.query("transitionId"))
    return JiraJSON({"expand": "transitions", "transitions": transitions})


def do_transition(ctx: Ctx) -> Response:
    issue = ctx.site.require_issue(ctx.path_param("issueIdOrKey"))
    body = ctx.json()
    transition = body.get("transition")
    transition_id = transition.get("id") if isinstance(transition, dict) else None
    if transition_id is None or isinstance(transition_id, bool):
        raise JiraError(400, "Missing 'transition' identifier")
    ctx.site.transition_issue(issue, str(transition_id), body, api_version=ctx.api_version)
    return no_content()


ROUTES = (
    JiraRoute(("POST",), "/issue", create_issue),
    JiraRoute(("POST",), "/issue/bulk", create_issues),
    JiraRoute(("GET",), "/issue/{issueIdOrKey}", get_issue),
    JiraRoute(("PUT",), "/issue/{issueIdOrKey}", edit_issue),
    JiraRoute(("DELETE",), "/issue/{issueIdOrKey}", delete_issue),
    JiraRoute(("GET",), "/issue/{issueIdOrKey}/transitions", get_transitions),
    JiraRoute(("POST",), "/issue/{issueIdOrKey}/transitions", do_transition),
)
