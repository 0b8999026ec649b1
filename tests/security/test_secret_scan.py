"""Secret scan after a full in-process run.

One account goes through everything a tenant can do (connection with a recognizable Jira
token, create/update, bulk sync, async bulk create and update, sync, passthrough), plus a
connection with a wrong token, vendor errors (500, 401, 429 from the emulator) and forced
500s. Then everything observable is searched for the API key, the vendor tokens and the
Fernet key: DEBUG logs (structlog through stdlib), every response body and header, every
row of every table (job results, sync state, health_detail, idempotency replays...) and
``/metrics`` if it exists. The API key is never created over HTTP here, so it may appear in
no response at all.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from tests.fixtures.tenants import jira_credentials, make_key
from tests.security.suite_support import suite_settings
from ticketbridge.app import create_app
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.fakejira import FakeJiraState, Site
from ticketbridge.provisioning.keys import display_prefix
from ticketbridge.store.base import Base
from ticketbridge.store.urls import sync_url

SITE = "acme.atlassian.net"
ADMIN = "admin@example.com"


class Recorder(logging.Handler):
    """Every log record, formatted as an operator would see it (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Observed:
    """An HTTP client that keeps every response (status line, headers, body)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.seen: list[str] = []

    async def __call__(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        r = await self.client.request(method, url, **kwargs)
        self.seen.append(f"{method} {url} -> {r.status_code}\n{dict(r.headers)}\n{r.text}")
        return r


def dump_database(db_url: str) -> str:
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:
            return "\n".join(
                f"{table.name}: {dict(row)}"
                for table in Base.metadata.sorted_tables
                for row in conn.execute(text(f'SELECT * FROM "{table.name}"')).mappings()
            )
    finally:
        engine.dispose()


async def _until(call: Any, done: Any, what: str) -> Any:
    for _ in range(600):
        body = (await call()).json()
        if done(body):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not finish: {body}")


async def full_run(http: Observed, runtime: Any, site: Site, token: str) -> str:
    """Everything a tenant does; returns the API key it used."""
    key = await make_key(runtime, "acme")
    h = {"X-API-KEY": key}
    org = await http("POST", "/v1/provisioning/organizations", json={"name": "o"}, headers=h)
    org_id = org.json()["id"]
    conns = f"/v1/provisioning/organizations/{org_id}/connections"
    creds = jira_credentials(api_token=token)
    conn = await http("POST", conns, json={"vendor": "JIRA", "credentials": creds}, headers=h)
    cid = conn.json()["id"]
    bad = {"vendor": "JIRA", "credentials": jira_credentials(api_token=f"wrong-{token}")}
    bad_id = (await http("POST", conns, json=bad, headers=h)).json()["id"]
    for c in (cid, bad_id):
        await http("GET", f"/v1/provisioning/connections/{c}", headers=h)
        await http("POST", f"/v1/provisioning/connections/{c}/test", headers=h)
    await http(
        "PATCH", f"/v1/provisioning/connections/{cid}", json={"credentials": creds}, headers=h
    )
    await http("GET", conns, headers=h)
    h["X-CONNECTION-ID"] = cid
    ticket = {"name": "t", "project_vendor_id": "DEMO", "type_vendor_id": "10001"}
    r = await http("POST", "/v1/itsm/tickets", json=ticket, headers={**h, "Idempotency-Key": "i1"})
    await http("POST", "/v1/itsm/tickets", json=ticket, headers={**h, "Idempotency-Key": "i1"})
    tid = r.json()["id"]
    await http("PATCH", f"/v1/itsm/tickets/{tid}", json={"name": "t2"}, headers=h)
    bulk = {"tickets": [{**ticket, "name": f"b{i}"} for i in range(3)]}
    await http("POST", "/v1/itsm/tickets/bulk/sync", json=bulk, headers=h)
    jobs = [
        (await http("POST", "/v1/itsm/tickets/bulk", json=bulk, headers=h)).json()["job_id"],
        (
            await http(
                "POST",
                "/v1/itsm/tickets/bulk/update",
                json={"ticket_ids": [tid], "updates": {"priority": "HIGH"}},
                headers=h,
            )
        ).json()["job_id"],
    ]
    for job in jobs:
        await _until(
            lambda job=job: http("GET", f"/v1/jobs/{job}", headers=h),
            lambda b: b["status"] in ("SUCCESS", "FAILED"),
            f"job {job}",
        )
    await http("POST", "/v1/itsm/sync", params={"full": "true"}, headers=h)
    await _until(
        lambda: http("GET", "/v1/itsm/sync", headers=h), lambda b: not b["running"], "sync"
    )
    for url in (
        "/v1/itsm/tickets",
        "/v1/itsm/projects",
        "/v1/itsm/users",
        "/v1/itsm/issue-types",
        "/v1/jobs",
        "/v1/itsm/passthrough/projects",
        "/v1/itsm/passthrough/projects/DEMO/issue-types",
        "/v1/itsm/passthrough/projects/DEMO/assignable-users",
    ):
        await http("GET", url, headers=h)
    await http(
        "GET", "/v1/itsm/passthrough/tickets/search", params={"jql": "project = DEMO"}, headers=h
    )
    await http("GET", "/v1/itsm/passthrough/tickets/search", params={"jql": "bogus ((("}, headers=h)
    # Vendor trouble on writes, reads, /test and the sync (401 and 400 come from the wrong
    # token and the bad JQL above).
    for fault in (
        {"error_rate": {"share": 1.0, "status": 500}},
        {"error_rate": {"share": 1.0, "status": 503}},
        {"rate_limit": {"share": 1.0, "retry_after": 1}},
    ):
        site.faults.configure(fault)
        await http("POST", "/v1/itsm/tickets", json=ticket, headers=h)
        await http("PATCH", f"/v1/itsm/tickets/{tid}", json={"name": "t3"}, headers=h)
        await http("GET", "/v1/itsm/passthrough/projects", headers=h)
        await http("POST", f"/v1/provisioning/connections/{cid}/test", headers=h)
        await http("POST", "/v1/itsm/sync", headers=h)
        await _until(
            lambda: http("GET", "/v1/itsm/sync", headers=h), lambda b: not b["running"], "sync"
        )
    site.faults.configure({})
    # A wrong key, a missing connection header, and an unknown connection.
    await http("GET", "/v1/itsm/tickets", headers={"X-API-KEY": f"{key}x"})
    await http("GET", "/v1/itsm/tickets", headers={"X-API-KEY": key})
    await http("GET", "/v1/itsm/tickets", headers={**h, "X-CONNECTION-ID": str(uuid.uuid4())})
    await http("GET", "/metrics", headers=h)
    await http("GET", "/readyz")
    return key


async def forced_500s(http: Observed, key: str, cid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    h = {"X-API-KEY": key, "X-CONNECTION-ID": cid}

    async def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("forced failure for the secret scan")

    monkeypatch.setattr("ticketbridge.tickets.repository.TicketRepository.read_row", boom)
    r = await http("GET", f"/v1/itsm/tickets/{uuid.uuid4()}", headers=h)
    assert r.status_code == 500, r.text
    monkeypatch.setattr("ticketbridge.provisioning.service.test_connection", boom)
    r = await http("POST", f"/v1/provisioning/connections/{cid}/test", headers=h)
    assert r.status_code == 500, r.text


_RUNS: dict[str, list[str]] = {}


@pytest.fixture
async def findings(
    request: pytest.FixtureRequest,
    db_url: str,
    tmp_path: Path,
    fake_jira: FakeJiraState,
    vendor_transport: httpx.AsyncBaseTransport,
    retry_policy: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    """``"<secret> in <place>"`` for every secret found; one full run per backend."""
    backend = request.node.callspec.params["db_url"]
    if backend not in _RUNS:
        _RUNS[backend] = await _scan(
            db_url, tmp_path, fake_jira, vendor_transport, retry_policy, monkeypatch
        )
    return _RUNS[backend]


async def _scan(
    db_url: str,
    tmp_path: Path,
    fake_jira: FakeJiraState,
    vendor_transport: httpx.AsyncBaseTransport,
    retry_policy: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    fernet_key = Fernet.generate_key().decode()
    token = f"jira-tok-{uuid.uuid4().hex}"
    site = fake_jira.site(SITE)
    site.set_api_token(ADMIN, token)
    site.add_project("OPS", "Operations")
    recorder = Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    settings = suite_settings(
        database_url=db_url, data_dir=tmp_path / "data", secret_key=fernet_key, log_level="DEBUG"
    )
    app = create_app(settings, vendor_transport=vendor_transport, retry_policy=retry_policy)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://tb.test") as c:
                http = Observed(c)
                key = await full_run(http, app.state.services.runtime, site, token)
                cid = await c.get("/v1/provisioning/organizations", headers={"X-API-KEY": key})
                org_id = cid.json()["items"][0]["id"]
                conns = await c.get(
                    f"/v1/provisioning/organizations/{org_id}/connections",
                    headers={"X-API-KEY": key},
                )
                await forced_500s(http, key, conns.json()["items"][0]["id"], monkeypatch)
    finally:
        root.removeHandler(recorder)
        root.setLevel(old_level)
    basic = base64.b64encode(f"{ADMIN}:{token}".encode()).decode()
    secrets = {
        "API key": key,
        "Jira token": token,
        "Jira Authorization header": basic,
        "Fernet key": fernet_key,
    }
    # The part of the key after its displayed prefix is the secret itself.
    secrets["API key secret part"] = key[len(display_prefix(key)) :]
    places = {
        "logs": "\n".join(recorder.lines),
        "responses": "\n".join(http.seen),
        "database": dump_database(db_url),
    }
    assert recorder.lines and any(" -> 500" in s for s in http.seen)
    return [
        f"{name} in {where}"
        for name, value in secrets.items()
        for where, blob in places.items()
        if value in blob
    ]


async def test_no_secret_in_logs_responses_or_rows(findings: list[str]) -> None:
    assert findings == []
