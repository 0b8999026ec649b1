"""Tenant isolation as a property.

Hypothesis draws a world: 2-3 accounts, each with organizations, connections to its own Jira
site, tickets (created through the API and read back by a sync), async bulk jobs, and
Idempotency-Keys drawn from one small shared pool (so accounts reuse each other's keys).
Then account X walks every ``/v1`` operation of the OpenAPI document with account Y's
resources: Y's ids in the path, Y's connection in X-CONNECTION-ID, Y's ids in the body, Y's
Idempotency-Key with Y's body. The property: no answer holds anything of Y's, a foreign id
answers exactly what an unknown id answers, and neither Y's rows nor Y's Jira site change
(Y's site is not even called).

This generalizes the fixed walk of tests/api/test_provisioning.py::TestTenantIsolation.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from tests.fixtures.tenants import jira_credentials, make_key
from tests.security.suite_support import suite_settings, truncate_all
from ticketbridge.app import create_app
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.fakejira import FakeJiraState
from ticketbridge.fakejira import create_app as create_fake_jira
from ticketbridge.store.base import Base
from ticketbridge.store.urls import sync_url
from ticketbridge.sync.service import run_sync

IDEMPOTENCY_POOL = ["k1", "k2", "k3"]
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TICKET = {"project_vendor_id": "DEMO", "type_vendor_id": "10001"}

account_plans = st.fixed_dictionaries(
    {
        "orgs": st.integers(1, 2),
        "connections": st.integers(1, 2),
        "tickets": st.lists(st.sampled_from([None, *IDEMPOTENCY_POOL]), min_size=1, max_size=2),
        "jobs": st.lists(st.sampled_from([None, *IDEMPOTENCY_POOL]), min_size=1, max_size=2),
        "sync": st.booleans(),
    }
)
worlds = st.lists(account_plans, min_size=2, max_size=3)


async def _no_sleep(_: float) -> None:
    return None


class World:
    """The running app and what each account owns (ids, secrets-to-look-for, keys used)."""

    def __init__(self, client: httpx.AsyncClient, fake: FakeJiraState, runtime: Any) -> None:
        self.client, self.fake, self.runtime = client, fake, runtime
        self.accounts: list[dict[str, Any]] = []

    async def build(self, plans: list[dict[str, Any]]) -> None:
        for i, plan in enumerate(plans):
            acc: dict[str, Any] = {"key": await make_key(self.runtime, f"acct{i}")}
            acc.update(site=f"t{i}.atlassian.net", marker=f"owned-by-{i}-{uuid.uuid4().hex}")
            h = {"X-API-KEY": acc["key"]}
            orgs = [
                (await self._post("/v1/provisioning/organizations", {"name": acc["marker"]}, h))
                for _ in range(plan["orgs"])
            ]
            acc["orgs"] = [o["id"] for o in orgs]
            acc["conns"] = []
            for c in range(plan["connections"]):
                creds = jira_credentials(base_url=f"https://{acc['site']}")
                body = {
                    "vendor": "JIRA",
                    "credentials": creds,
                    "identifier": f"{acc['marker']}-c{c}",
                }
                org = acc["orgs"][c % len(acc["orgs"])]
                url = f"/v1/provisioning/organizations/{org}/connections"
                acc["conns"].append((await self._post(url, body, h))["id"])
            h["X-CONNECTION-ID"] = acc["conns"][0]
            acc["headers"], acc["idem"], acc["tickets"], acc["jobs"] = h, [], [], []
            for n, key in enumerate(plan["tickets"]):
                body = {
                    **TICKET,
                    "name": f"{acc['marker']} t{n}",
                    "identifier": f"{acc['marker']}-{n}",
                }
                extra = {"Idempotency-Key": key} if key else {}
                r = await self._post("/v1/itsm/tickets", body, {**h, **extra})
                acc["tickets"].append(r["id"])
                if key:
                    acc["idem"].append(("POST", "/v1/itsm/tickets", key, body))
            for key in plan["jobs"]:
                body = {"tickets": [{**TICKET, "name": f"{acc['marker']} bulk"}]}
                extra = {"Idempotency-Key": key} if key else {}
                r = await self._post("/v1/itsm/tickets/bulk", body, {**h, **extra}, status=202)
                acc["jobs"].append(r["job_id"])
                if key:
                    acc["idem"].append(("POST", "/v1/itsm/tickets/bulk", key, body))
            self.accounts.append(acc)
        await self.settle()
        for acc, plan in zip(self.accounts, plans, strict=True):
            if plan["sync"]:
                await run_sync(self.runtime, uuid.UUID(acc["conns"][0]), full=True)
            await self.collect_catalog(acc)

    async def _post(
        self, url: str, body: Any, headers: dict[str, str], status: int | None = None
    ) -> Any:
        r = await self.client.post(url, json=body, headers=headers)
        assert r.status_code in ((status,) if status else (200, 201)), (url, r.text)
        return r.json()

    async def settle(self, accounts: list[dict[str, Any]] | None = None) -> None:
        """Wait until every job of ``accounts`` (all by default) is finished, so nothing
        changes rows behind the walk. Polling with a key refreshes its ``last_used_at`` once a
        minute, so after a walk only the walker's own key may poll."""
        pending: list[Any] = []
        for _ in range(400):
            pending = []
            for a in self.accounts if accounts is None else accounts:
                r = await self.client.get("/v1/jobs", headers={"X-API-KEY": a["key"]})
                pending += [j for j in r.json()["items"] if j["status"] in ("QUEUED", "RUNNING")]
            if not pending:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"jobs still running: {pending}")

    async def collect_catalog(self, acc: dict[str, Any]) -> None:
        h = acc["headers"]
        get = self.client.get
        tickets = (await get("/v1/itsm/tickets", headers=h)).json()["items"]
        acc["tickets"] = sorted({*acc["tickets"], *(t["id"] for t in tickets)})
        acc["identifiers"] = [t["identifier"] for t in tickets if t.get("identifier")]
        acc["projects"] = [
            p["id"] for p in (await get("/v1/itsm/projects", headers=h)).json()["items"]
        ]
        acc["users"] = [u["id"] for u in (await get("/v1/itsm/users", headers=h)).json()["items"]]


# Path parameter -> the owner's list it is filled from.
PATH_IDS = {
    "organization_id": "orgs",
    "connection_id": "conns",
    "ticket_id": "tickets",
    "project_id": "projects",
    "user_id": "users",
    "job_id": "jobs",
    "identifier": "identifiers",
}
QUERY_IDS = {"project_id": "projects", "projectId": "projects", "assigned_user_id": "users"}


def _first(acc: dict[str, Any], field: str) -> str:
    values: list[str] = acc.get(field) or []
    return values[0] if values else str(uuid.uuid4())


def _bodies(method: str, path: str, y: dict[str, Any], x_site: str) -> list[Any]:
    """Bodies for one operation, each naming one of Y's objects where the schema allows."""
    t, u, p = _first(y, "tickets"), _first(y, "users"), _first(y, "projects")
    probe = {**TICKET, "name": "probe"}
    if method == "POST" and path == "/v1/provisioning/organizations":
        return [{"name": "probe"}]
    if path.endswith("/connections") and method == "POST":
        creds = jira_credentials(base_url=f"https://{x_site}")
        return [{"vendor": "JIRA", "credentials": creds}]
    if path == "/v1/provisioning/connections/{connection_id}" and method == "PATCH":
        return [{"refresh_interval_secs": 600, "is_active": False}]
    if path == "/v1/itsm/tickets" and method == "POST":
        return [
            {**probe, "parent_ticket_id": t},
            {**probe, "assigned_user_id": u},
            {"name": "probe", "project_id": p, "type": "Task"},
        ]
    if path == "/v1/itsm/tickets/{ticket_id}":
        return [{"name": "hijack"}, {"parent_ticket_id": t}, {"assigned_user_id": u}]
    if path in ("/v1/itsm/tickets/bulk", "/v1/itsm/tickets/bulk/sync"):
        return [{"tickets": [{**probe, "parent_ticket_id": t}]}]
    if path == "/v1/itsm/tickets/bulk/update":
        return [{"ticket_ids": y.get("tickets") or [t], "updates": {"name": "hijack"}}]
    return [None]


def _norm(value: Any) -> str:
    try:
        return uuid.UUID(str(value)).hex
    except ValueError:
        return str(value)


def snapshot_without(db_url: str, owner_account_ids: set[str]) -> list[tuple[str, ...]]:
    """Every row of every table except those owned (transitively, through *_id columns) by
    the given accounts: what the other accounts hold."""
    owned = {_norm(a) for a in owner_account_ids}
    kept: list[tuple[str, ...]] = []
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in conn.execute(text(f'SELECT * FROM "{table.name}"')).mappings():
                    refs = {_norm(v) for k, v in row.items() if k == "id" or k.endswith("_id")}
                    if refs & owned:
                        owned |= refs
                        continue
                    kept.append((table.name, *sorted(f"{k}={v!r}" for k, v in row.items())))
    finally:
        engine.dispose()
    return sorted(kept)


def vendor_snapshot(fake: FakeJiraState, site: str) -> tuple[Any, ...]:
    s = fake.site(site)
    return (sorted((k, repr(v)) for k, v in s.issues.items()), sorted(s.stats.routes.items()))


async def walk(world: World, doc: dict[str, Any], x: dict[str, Any], y: dict[str, Any]) -> None:
    """X calls every /v1 operation with Y's resources, and again with unknown ones."""
    client = world.client
    # Y's object ids, and the marker in everything Y named. (Jira keys such as DEMO-1 are
    # not Y's: X's own site has the same ones.)
    y_ids = {v for f in PATH_IDS.values() for v in y.get(f, []) if UUID_RE.fullmatch(v)}
    forbidden = {*y_ids, y["marker"]}
    for path, item in doc["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            names = {p["name"]: p["in"] for p in op.get("parameters", [])}
            # "none": X-CONNECTION-ID is optional on some routes (jobs); absent, the account
            # alone must scope the answer.
            conn_modes = ["foreign", "own", "none"] if "X-CONNECTION-ID" in names else ["own"]
            for conn_mode in conn_modes:
                for body in _bodies(method.upper(), path, y, x["site"]):
                    foreign = _request(path, names, body, x, y, conn_mode)
                    unknown = _request(path, names, body, x, None, conn_mode)
                    r1 = await client.request(method.upper(), **foreign)
                    r2 = await client.request(method.upper(), **unknown)
                    where = (method.upper(), foreign["url"], conn_mode, body)
                    assert r1.status_code < 500, (where, r1.text)
                    # Echoing an id the caller sent is no leak; anything else of Y's is.
                    sent, sent_unknown = _ids_in(foreign), _ids_in(unknown)
                    seen = r1.text + str(r1.headers)
                    leaked = [f for f in forbidden - sent if f in seen]
                    assert not leaked, (where, leaked, r1.text)
                    if not sent & y_ids:
                        continue  # nothing of Y's in this request: only the leak check applies
                    assert r1.status_code == r2.status_code, (where, r1.text, r2.text)
                    if r1.status_code >= 400:
                        assert _masked(r1.text, sent) == _masked(r2.text, sent_unknown), (
                            where,
                            r1.text,
                            r2.text,
                        )
    # Y's Idempotency-Keys with Y's bodies, on X's own connection: never Y's stored answer.
    for method, url, key, body in y["idem"]:
        r = await client.request(
            method, url, json=body, headers={**x["headers"], "Idempotency-Key": key}
        )
        assert r.status_code < 500, r.text
        # X sent Y's body (Y's marker, Y's identifier): only Y's object ids would be a replay.
        assert not [i for i in y_ids if i in r.text], (url, key, r.text)


def _ids_in(request: dict[str, Any]) -> set[str]:
    blob = f"{request['url']} {request['params']} {request['headers']} {request.get('json')}"
    return set(UUID_RE.findall(blob))


def _masked(body: str, ids: set[str]) -> str:
    for i in ids:
        body = body.replace(i, "<id>")
    return body


def _request(
    path: str,
    names: dict[str, str],
    body: Any,
    x: dict[str, Any],
    y: dict[str, Any] | None,
    conn_mode: str,
) -> dict[str, Any]:
    """Request kwargs with Y's ids (or, with ``y=None``, fresh unknown ids of the same
    shape) wherever the operation takes an id."""

    unknown: dict[str, str] = {}

    def pick(field: str) -> str:
        if y is None:  # one unknown id per kind: project_id and projectId name the same one
            fresh = "unknown-ident" if field == "identifiers" else str(uuid.uuid4())
            return unknown.setdefault(field, fresh)
        return _first(y, field)

    url = path.replace("{project_key}", "DEMO")
    for param, field in PATH_IDS.items():
        url = url.replace("{" + param + "}", pick(field))
    params = {q: pick(f) for q, f in QUERY_IDS.items() if names.get(q) == "query"}
    if "jql" in names:
        params["jql"] = "project = DEMO"
    headers = {"X-API-KEY": x["key"]}
    if "X-CONNECTION-ID" in names and conn_mode != "none":
        headers["X-CONNECTION-ID"] = pick("conns") if conn_mode == "foreign" else x["conns"][0]
    if y is None and body is not None:
        body = _replace_ids(body)
    kwargs: dict[str, Any] = {"url": url, "params": params, "headers": headers}
    if body is not None:
        kwargs["json"] = body
    return kwargs


def _replace_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _replace_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_ids(v) for v in value]
    if isinstance(value, str) and _norm(value) != value and len(value) == 36:
        return str(uuid.uuid4())
    return value


async def _scenario(db_url: str, data_dir: Path, plans: list[dict[str, Any]]) -> None:
    fake = FakeJiraState()
    app = create_app(
        suite_settings(database_url=db_url, data_dir=data_dir, log_json=True),
        vendor_transport=httpx.ASGITransport(app=create_fake_jira(fake)),
        retry_policy=RetryPolicy(sleep=_no_sleep),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tb.test") as client:
            world = World(client, fake, app.state.services.runtime)
            await world.build(plans)
            doc = app.openapi()
            accs = world.accounts
            pairs = [(0, 1), (1, 0)] + [(0, 2)] * (len(accs) > 2)
            for xi, yi in pairs:
                x, y = accs[xi], accs[yi]
                x_account = _account_of(db_url, x)
                rows_before = snapshot_without(db_url, {x_account})
                vendor_before = [vendor_snapshot(fake, a["site"]) for a in accs if a is not x]
                await walk(world, doc, x, y)
                await world.settle([x])
                assert snapshot_without(db_url, {x_account}) == rows_before
                assert [vendor_snapshot(fake, a["site"]) for a in accs if a is not x] == (
                    vendor_before
                )


def _account_of(db_url: str, acc: dict[str, Any]) -> str:
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, account_id FROM organizations")).all()
    finally:
        engine.dispose()
    return next(str(a) for o, a in rows if _norm(o) == _norm(acc["orgs"][0]))


@pytest.mark.timeout(600)
def test_no_route_reaches_another_account(db_url: str, tmp_path: Path) -> None:
    @settings(
        max_examples=4,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # a failure names its request; no shrinking
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(plans=worlds)
    def check(plans: list[dict[str, Any]]) -> None:
        truncate_all(db_url)
        asyncio.run(_scenario(db_url, tmp_path / "data", plans))

    check()
