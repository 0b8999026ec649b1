"""The emulator's own admin API under ``/_fake`` (JSON, no authentication, never faulted).

Each call acts on the site chosen by the ``Host`` header, like the Jira routes. Reset, seed,
stats and faults are :class:`ticketbridge.fakekit.admin.AdminAPI`'s, given this module's seed
spec parser and site summary; the rest is Jira's.

* ``POST /_fake/reset`` ``{}`` or ``{"seed": <seed spec>}``: wipe the site (data, faults,
  stats); bootstrap it (admin + empty DEMO project) or seed it.
* ``POST /_fake/seed`` ``<seed spec>``: replace the site's data with seeded data (faults and
  stats are kept). A seed spec is ``{"projects", "issues_per_project", "users", "seed"}`` or
  ``{"issues": N, "seed": S}`` (N issues in total, like the CLI's ``--seed N``); either may
  add ``"workflow": "classic"`` for the restricted classic workflow (default: ``"default"``).
* ``POST /_fake/projects`` ``{"key", "name"?, "workflow"?}``: add a project.
* ``PUT /_fake/projects/{key}/screens/{transitionId}`` ``{"required": [field ids]}``: give a
  transition a screen whose fields are required (``[]`` removes it).
* ``GET /_fake/stats``, ``POST /_fake/stats/reset``: request counts per
  ``"METHOD /route/template"``, per status, in total, injected faults, and
  ``peak_in_flight``: the most Jira requests served at once since the last reset.
* ``GET /_fake/faults``, ``PUT /_fake/faults``: the fault configuration (see :mod:`faults`).
* ``GET /_fake/issues/{key}``: the stored issue as the emulator holds it.
* ``GET /_fake/users``, ``POST /_fake/users`` ``{"email", "displayName", "apiToken"?,
  "active"?}``: list or add users (a user with an ``apiToken`` can authenticate).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ticketbridge.fakekit.admin import AdminAPI, problem
from ticketbridge.fakekit.app import tenant_of

from .model import STATUSES
from .seed import SeedSpec
from .state import Site


def _site(request: Request) -> Site:
    site: Site = tenant_of(request)
    return site


def seed_spec(data: Any) -> SeedSpec:
    """Parse a seed spec; raises ``ValueError``."""
    if not isinstance(data, dict):
        raise ValueError("a seed spec must be an object")
    numbers = {k: v for k, v in data.items() if k not in ("now_ms", "workflow")}
    if not isinstance(data.get("workflow", ""), str):
        raise ValueError("workflow must be a string")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numbers.values()):
        raise ValueError("seed spec values must be non-negative integers")
    if "issues" in data:
        unknown = set(data) - {"issues", "seed", "now_ms", "workflow"}
        if unknown:
            raise ValueError(f"unknown seed settings: {sorted(unknown)}")
        spec = SeedSpec.for_total(data["issues"], data.get("seed"), data.get("now_ms"))
        return replace(spec, workflow=data.get("workflow", spec.workflow))
    try:
        return SeedSpec(**data)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def summary(site: Site) -> dict[str, Any]:
    return {
        "site": site.name,
        "projects": len(site.projects),
        "users": len(site.users),
        "issues": site.issues_count(),
    }


def stored_issue(site: Site, key: str) -> dict[str, Any] | None:
    issue = site.find_issue(key)
    if issue is None:
        return None
    data = asdict(issue)
    data.pop("search_doc", None)
    data["project_key"] = site.projects[issue.project_id].key
    data["status_name"] = STATUSES[issue.status_id].name
    data["issuetype_name"] = issue.issuetype.name
    data["subtask_keys"] = [s.key for s in site.subtasks_of(issue)]
    return data


async def issue(request: Request) -> Response:
    data = stored_issue(_site(request), request.path_params["key"])
    return JSONResponse(data) if data else problem("no such issue", 404)


def _user(site: Site, account_id: str) -> dict[str, Any]:
    user = site.users[account_id]
    return {
        "accountId": user.account_id,
        "displayName": user.display_name,
        "emailAddress": user.email,
        "active": user.active,
        "hasApiToken": user.api_token is not None,
    }


async def users(request: Request) -> Response:
    site = _site(request)
    if request.method == "POST":
        try:
            data = await ADMIN.body(request)
        except ValueError as exc:
            return problem(str(exc))
        if not isinstance(data, dict) or not isinstance(data.get("email"), str):
            return problem("email is required")
        user = site.add_user(
            data["email"],
            str(data.get("displayName") or data["email"]),
            api_token=data.get("apiToken"),
            active=bool(data.get("active", True)),
        )
        return JSONResponse(_user(site, user.account_id), status_code=201)
    return JSONResponse([_user(site, a) for a in site.users])


async def projects(request: Request) -> Response:
    """``POST {key, name?, workflow?}`` adds a project (``workflow``: default or classic)."""
    site = _site(request)
    try:
        data = await ADMIN.body(request)
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            raise ValueError("key is required")
        project = site.add_project(
            data["key"],
            str(data.get("name") or data["key"]),
            workflow=str(data.get("workflow") or "default"),
        )
    except ValueError as exc:
        return problem(str(exc))
    return JSONResponse(
        {"id": project.id, "key": project.key, "workflow": project.workflow}, status_code=201
    )


async def screen(request: Request) -> Response:
    """``PUT {"required": [field ids]}``: the screen of one transition of a project."""
    site = _site(request)
    key, transition_id = request.path_params["key"], request.path_params["transition_id"]
    try:
        data = await ADMIN.body(request)
        required = data.get("required") if isinstance(data, dict) else None
        if not isinstance(required, list) or not all(isinstance(f, str) for f in required):
            raise ValueError("required must be a list of field ids")
        site.set_screen(key, transition_id, required)
    except KeyError:
        return problem("no such project", 404)
    except ValueError as exc:
        return problem(str(exc))
    return JSONResponse({"transition": transition_id, "required": required})


ADMIN = AdminAPI(seed_spec=seed_spec, summary=summary)

ROUTES = [
    Route("/_fake/projects", projects, methods=["POST"]),
    Route("/_fake/projects/{key}/screens/{transition_id}", screen, methods=["PUT"]),
    *ADMIN.routes(),
    Route("/_fake/issues/{key}", issue, methods=["GET"]),
    Route("/_fake/users", users, methods=["GET", "POST"]),
]
