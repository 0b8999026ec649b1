"""Fixtures for ticket-write tests: the API against fakejira in-process, two tenants, a
synced catalog, SQL statement capture and emulator shortcuts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.helpers import Tenant, make_tenant
from ticketbridge.fakejira import FakeJiraState, Site, create_app
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync

SITE_HOST = "acme.atlassian.net"


@pytest.fixture
def fake_jira() -> FakeJiraState:
    return FakeJiraState()


@pytest.fixture
def vendor_transport(fake_jira: FakeJiraState) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=create_app(fake_jira))


@pytest.fixture
def site(fake_jira: FakeJiraState) -> Site:
    """The emulated site every tenant's connection points at, with a second project and
    two assignable people besides the admin."""
    s = fake_jira.site(SITE_HOST)
    s.add_project("OPS", "Operations")
    s.add_user("dev@example.com", "Dev One")
    s.add_user("ops@example.com", "Ops Two")
    return s


@dataclass
class Waits:
    """Retry waits the vendor HTTP layer asked for (recorded, never slept)."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def runtime(app: Any) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


@pytest.fixture
def waits(runtime: Runtime) -> Waits:
    recorder = Waits()
    runtime.connectors.policy.sleep = recorder
    return recorder


@pytest.fixture
async def tenant(client: httpx.AsyncClient, runtime: Runtime, site: Site, waits: Waits) -> Tenant:
    return await make_tenant(client, runtime, "acme")


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient, runtime: Runtime, site: Site) -> Tenant:
    return await make_tenant(client, runtime, "globex")


async def sync(runtime: Runtime, tenant: Tenant) -> None:
    assert tenant.connection_id is not None
    await run_sync(runtime, uuid.UUID(tenant.connection_id), full=True)


@pytest.fixture
async def synced(runtime: Runtime, tenant: Tenant) -> Tenant:
    """``tenant`` with its catalog (projects, issue types, users) and tickets synced."""
    await sync(runtime, tenant)
    return tenant


@dataclass
class Statements:
    """SQL statements run by the app, with the index of the first one after each marker."""

    sql: list[str] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)

    def selects_on(self, tables: tuple[str, ...], *, before: str | None = None) -> list[str]:
        end = self.marks.get(before, len(self.sql)) if before else len(self.sql)
        return [
            s
            for s in self.sql[:end]
            if s.lstrip().upper().startswith("SELECT")
            and any(f" {t}" in s or f'"{t}"' in s for t in tables)
        ]


@pytest.fixture
def statements(runtime: Runtime) -> Iterator[Statements]:
    """Every statement of the app's engine, and where POST /issue reached Jira."""
    captured = Statements()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        captured.sql.append(statement)

    async def on_request(request: httpx.Request) -> None:
        key = f"{request.method} {request.url.path}"
        captured.marks.setdefault(key, len(captured.sql))

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    hooks = runtime.http.event_hooks
    runtime.http.event_hooks = {**hooks, "request": [*hooks.get("request", []), on_request]}
    yield captured
    event.remove(engine, "before_cursor_execute", on_execute)
    runtime.http.event_hooks = hooks
