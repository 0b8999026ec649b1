"""Every ordered pair of the six statuses, on both fakejira workflows: PATCH from one to the
other ends in the requested category (and preferred name), in the fewest transitions.

The expected end statuses and transition counts come from the emulator's own workflow graph
(a breadth-first search over :mod:`ticketbridge.fakejira.model`), not from the code under test.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import httpx
import pytest

from tests.fixtures.tenants import Tenant
from tests.fixtures.tickets import TRANSITION, calls, created, jira_issue, update
from ticketbridge.fakejira import Site
from ticketbridge.fakejira.model import WORKFLOWS, Workflow

STATUSES = ("OPEN", "TODO", "IN_PROGRESS", "IN_REVIEW", "RESOLVED", "CLOSED")
CATEGORY = {
    "OPEN": "new",
    "TODO": "new",
    "IN_PROGRESS": "indeterminate",
    "IN_REVIEW": "indeterminate",
    "RESOLVED": "done",
    "CLOSED": "done",
}
# Where each normalized status should land, and how the ticket then reads.
ENDS: dict[str, dict[str, tuple[set[str], str]]] = {
    "default": {
        "OPEN": ({"To Do"}, "TODO"),
        "TODO": ({"To Do"}, "TODO"),
        "IN_PROGRESS": ({"In Progress"}, "IN_PROGRESS"),
        "IN_REVIEW": ({"In Progress"}, "IN_PROGRESS"),
        "RESOLVED": ({"Done"}, "CLOSED"),
        "CLOSED": ({"Done"}, "CLOSED"),
    },
    "classic": {
        "OPEN": ({"Open", "Reopened"}, "OPEN"),
        "TODO": ({"Open", "Reopened"}, "OPEN"),  # no "To Do": any To Do-category status
        "IN_PROGRESS": ({"In Progress"}, "IN_PROGRESS"),
        "IN_REVIEW": ({"In Progress"}, "IN_PROGRESS"),
        "RESOLVED": ({"Resolved"}, "RESOLVED"),
        "CLOSED": ({"Closed"}, "CLOSED"),
    },
}
PROJECT = {"default": "DEMO", "classic": "CLS"}


def fewest_transitions(workflow: Workflow, start: str, goals: set[str]) -> int:
    """Breadth-first distance from status ``start`` (a name) to any of ``goals``."""
    by_name = {s.name: s for s in workflow.statuses}
    distance = {start: 0}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here in goals:
            return distance[here]
        for t in workflow.transitions_from(by_name[here].id):
            if t.to.name not in distance:
                distance[t.to.name] = distance[here] + 1
                queue.append(t.to.name)
    raise AssertionError(f"{goals} unreachable from {start}")


async def patch_status(
    client: httpx.AsyncClient, tenant: Tenant, ticket: dict[str, Any], status: str
) -> dict[str, Any]:
    response = await update(client, tenant, ticket["id"], status=status)
    assert response.status_code == 200, (status, response.text)
    data: dict[str, Any] = response.json()
    return data


@pytest.mark.parametrize("workflow", ["default", "classic"])
@pytest.mark.parametrize("start", STATUSES)
async def test_every_pair_reaches_the_target_in_the_fewest_transitions(
    client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, workflow: str, start: str
) -> None:
    if workflow == "classic":
        ops_site.add_project("CLS", "Classic", workflow="classic")
    ticket = await created(client, tenant, project_vendor_id=PROJECT[workflow])
    graph = WORKFLOWS[workflow]
    for target in STATUSES:
        await patch_status(client, tenant, ticket, start)
        before = jira_issue(ops_site, ticket).status.name
        posts = calls(ops_site, TRANSITION)

        result = await patch_status(client, tenant, ticket, target)

        issue = jira_issue(ops_site, ticket)
        names, reads_as = ENDS[workflow][target]
        made = calls(ops_site, TRANSITION) - posts
        case = (workflow, start, before, target, issue.status.name, made)
        assert issue.status.category.key == CATEGORY[target], case
        assert issue.status.name in names, case
        assert made == fewest_transitions(graph, before, names), case
        assert result["status"] == reads_as, case
