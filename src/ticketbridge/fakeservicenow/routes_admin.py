"""The emulator's own admin API under ``/_fake`` (JSON, no authentication, never faulted).

Each call acts on the instance chosen by the ``Host`` header, like the ServiceNow routes.
Reset, seed, stats and faults are :class:`ticketbridge.fakekit.admin.AdminAPI`'s, given this
module's seed spec parser and :func:`~.state.describe`; the rest is ServiceNow's.

* ``POST /_fake/reset`` ``{}`` or ``{"seed": <seed spec>}``: wipe the instance (data, faults,
  stats) and bootstrap it, seeded if a spec is given.
* ``POST /_fake/seed`` ``<seed spec>``: replace the data with seeded data (faults and stats
  kept). A seed spec is ``{"incidents", "users", "groups", "seed", "now_ms"}`` (all optional).
* ``GET /_fake/stats``, ``POST /_fake/stats/reset``: request counts per ``"METHOD /route"``
  (batch items as ``"BATCH METHOD /route"``), per status, in total, and injected faults.
* ``GET /_fake/faults``, ``PUT /_fake/faults``: the fault configuration (see :mod:`faults`).
* ``GET /_fake/records/{table}/{sys_id}``: a stored record as the emulator holds it.
* ``GET /_fake/users``, ``POST /_fake/users`` ``{"user_name", "name"?, "password"?,
  "roles"?, "email"?, "active"?}``: list or add users.
* ``POST /_fake/groups`` ``{"name", "members"?: [user_name]}``: add an assignment group.
* ``POST /_fake/oauth/clients`` ``{"client_id", "client_secret", "user_name"}``: register an
  OAuth client; ``POST /_fake/oauth/expire``: expire every access token now.
* ``GET /_fake/properties``, ``PUT /_fake/properties`` ``{name: value}``: instance properties
  (``glide.invalid_query.returns_no_rows``) and ``batch_max_requests``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ticketbridge.fakekit.admin import AdminAPI, problem
from ticketbridge.fakekit.app import tenant_of

from .seed import SeedSpec
from .state import Instance, describe


def _instance(request: Request) -> Instance:
    instance: Instance = tenant_of(request)
    return instance


def seed_spec(data: Any) -> SeedSpec:
    """Parse a seed spec; raises ``ValueError``."""
    if not isinstance(data, dict):
        raise ValueError("a seed spec must be an object")
    unknown = set(data) - set(SeedSpec.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown seed settings: {sorted(unknown)}")
    if not all(
        (isinstance(v, int) and not isinstance(v, bool) and v >= 0) or (k == "now_ms" and v is None)
        for k, v in data.items()
    ):
        raise ValueError("seed spec values must be non-negative integers")
    return SeedSpec(**data)


async def record(request: Request) -> Response:
    instance = _instance(request)
    table, sys_id = request.path_params["table"], request.path_params["sys_id"]
    found = instance.get(table, sys_id)
    return JSONResponse(found) if found is not None else problem("no such record", 404)


def _user(instance: Instance, user: dict[str, str]) -> dict[str, Any]:
    return {
        "sys_id": user["sys_id"],
        "user_name": user["user_name"],
        "name": user["name"],
        "email": user["email"],
        "active": user["active"] == "true",
        "roles": sorted(instance.roles_of(user["sys_id"])),
        "can_authenticate": bool(user.get("user_password")),
    }


async def users(request: Request) -> Response:
    instance = _instance(request)
    if request.method == "POST":
        try:
            data = await ADMIN.body(request)
        except ValueError as exc:
            return problem(str(exc))
        if not isinstance(data, dict) or not isinstance(data.get("user_name"), str):
            return problem("user_name is required")
        if instance.user_by_name(data["user_name"]) is not None:
            return problem("user_name exists", 409)
        roles = data.get("roles", ["itil"])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            return problem("roles must be a list of role names")
        user = instance.add_user(
            data["user_name"],
            str(data.get("name") or data["user_name"]),
            password=data.get("password", "fake-password"),
            roles=roles,
            email=data.get("email"),
            active=bool(data.get("active", True)),
        )
        return JSONResponse(_user(instance, user), status_code=201)
    return JSONResponse([_user(instance, u) for u in instance.rows("sys_user")])


async def groups(request: Request) -> Response:
    instance = _instance(request)
    try:
        data = await ADMIN.body(request)
    except ValueError as exc:
        return problem(str(exc))
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return problem("name is required")
    members = []
    for user_name in data.get("members", []):
        user = instance.user_by_name(str(user_name))
        if user is None:
            return problem(f"no user {user_name}", 404)
        members.append(user["sys_id"])
    group = instance.add_group(data["name"], members=members)
    return JSONResponse({"sys_id": group["sys_id"], "name": group["name"]}, status_code=201)


async def oauth_clients(request: Request) -> Response:
    instance = _instance(request)
    try:
        data = await ADMIN.body(request)
    except ValueError as exc:
        return problem(str(exc))
    names = ("client_id", "client_secret", "user_name")
    if not isinstance(data, dict) or not all(isinstance(data.get(n), str) for n in names):
        return problem("client_id, client_secret and user_name are required")
    instance.add_client(data["client_id"], data["client_secret"], data["user_name"])
    return JSONResponse({"client_id": data["client_id"]}, status_code=201)


async def oauth_expire(request: Request) -> Response:
    _instance(request).expire_tokens()
    return JSONResponse({"expired": True})


def _properties(instance: Instance) -> dict[str, Any]:
    return {**instance.properties, "batch_max_requests": instance.batch_max_requests}


async def properties(request: Request) -> Response:
    instance = _instance(request)
    if request.method == "PUT":
        try:
            data = await ADMIN.body(request)
        except ValueError as exc:
            return problem(str(exc))
        if not isinstance(data, dict):
            return problem("properties must be an object")
        for name, value in data.items():
            if name == "batch_max_requests":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    return problem("batch_max_requests must be a non-negative integer")
                instance.batch_max_requests = value
            else:
                instance.properties[name] = (
                    str(value).lower() if isinstance(value, bool) else str(value)
                )
    return JSONResponse(_properties(instance))


ADMIN = AdminAPI(seed_spec=seed_spec, summary=describe, invalid_body="the body must be JSON")

ROUTES = [
    *ADMIN.routes(),
    Route("/_fake/records/{table}/{sys_id}", record, methods=["GET"]),
    Route("/_fake/users", users, methods=["GET", "POST"]),
    Route("/_fake/groups", groups, methods=["POST"]),
    Route("/_fake/oauth/clients", oauth_clients, methods=["POST"]),
    Route("/_fake/oauth/expire", oauth_expire, methods=["POST"]),
    Route("/_fake/properties", properties, methods=["GET", "PUT"]),
]
