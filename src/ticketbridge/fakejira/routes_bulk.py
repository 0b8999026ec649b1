"""Bulk operation routes (see :mod:`bulk` for the task model).

Errors on these routes use the ``BulkOperationErrorResponse`` envelope
(``{"errors": [{"message": ...}]}``) that the OpenAPI document declares for them.
``GET /bulk/issues/transition`` lists, per issue, the transitions it has available.
"""

from __future__ import annotations

from starlette.responses import Response

from .context import Ctx, JiraJSON, JiraRoute
from .errors import JiraError
from .model import Transition


def bulk_transition(ctx: Ctx) -> Response:
    task = ctx.site.tasks.submit_transitions(ctx.json(), ctx.account_id)
    return JiraJSON({"taskId": task.task_id}, status_code=201)


def bulk_edit(ctx: Ctx) -> Response:
    task = ctx.site.tasks.submit_edit(ctx.json(), ctx.account_id)
    return JiraJSON({"taskId": task.task_id}, status_code=201)


def bulk_progress(ctx: Ctx) -> Response:
    return JiraJSON(ctx.site.tasks.progress(ctx.path_param("taskId"), ctx.base))


def available_transitions(ctx: Ctx) -> Response:
    refs = [
        r.strip() for item in ctx.query_list("issueIdsOrKeys") for r in item.split(",") if r.strip()
    ]
    if not refs:
        raise JiraError(400, "issueIdsOrKeys is required.")
    groups: dict[tuple[Transition, ...], list[str]] = {}
    for ref in refs:
        issue = ctx.site.find_issue(ref)
        if issue is None:
            continue
        groups.setdefault(tuple(ctx.site.transitions_for(issue)), []).append(issue.key)
    available = []
    for offered, keys in groups.items():
        transitions = [
            {
                "transitionId": int(t.id),
                "transitionName": t.name,
                "to": {"statusId": int(t.to.id), "statusName": t.to.name},
            }
            for t in offered
        ]
        available.append(
            {"issues": keys, "isTransitionsFiltered": False, "transitions": transitions}
        )
    return JiraJSON({"availableTransitions": available})


ROUTES = (
    JiraRoute(("GET",), "/bulk/issues/transition", available_transitions, bulk_errors=True),
    JiraRoute(("POST",), "/bulk/issues/transition", bulk_transition, bulk_errors=True),
    JiraRoute(("POST",), "/bulk/issues/fields", bulk_edit, bulk_errors=True),
    JiraRoute(("GET",), "/bulk/queue/{taskId}", bulk_progress, bulk_errors=True),
)
