"""Fixtures for ticket-write tests, on top of tests/conftest.py (emulator, tenants, runtime):
a richer emulated site, a synced catalog, and SQL statement capture."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.helpers import Tenant
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync


@pytest.fixture
def site(fake_site: Site) -> Site:
    """The tenants' emulated site, with a second project and two assignable people besides
    the admin."""
    fake_site.add_project("OPS", "Operations")
    fake_site.add_user("dev@example.com", "Dev One")
    fake_site.add_user("ops@example.com", "Ops Two")
    return fake_site


async def sync(runtime: Runtime, tenant: Tenant) -> None:
    assert tenant.connection_id is not None
    await run_sync(runtime, uuid.UUID(tenant.connection_id), full=True)


@pytest.fixture
async def synced(runtime: Runtime, tenant: Tenant, site: Site) -> Tenant:
    """``tenant`` with its catalog (projects, issue types, users) and tickets synced."""
    await sync(runtime, tenant)
    return tenant


@dataclass
class Statements:
    """SQL statements run by the app, and how many had run when each vendor route was first
    called (``marks["POST /rest/api/3/issue"]``)."""

    sql: list[str] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)

    def selects_on(self, tables: tuple[str, ...], *, before: str | None = None) -> list[str]:
        """SELECTs touching ``tables``, up to the first call of ``before`` (else all)."""
        end = self.marks[before] if before else len(self.sql)
        return [
            s
            for s in self.sql[:end]
            if s.lstrip().upper().startswith("SELECT")
            and any(f" {t}" in s or f'"{t}"' in s for t in tables)
        ]


@pytest.fixture
def statements(runtime: Runtime) -> Iterator[Statements]:
    captured = Statements()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        captured.sql.append(statement)

    async def on_request(request: httpx.Request) -> None:
        captured.marks.setdefault(f"{request.method} {request.url.path}", len(captured.sql))

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    hooks = runtime.http.event_hooks
    runtime.http.event_hooks = {**hooks, "request": [*hooks.get("request", []), on_request]}
    yield captured
    event.remove(engine, "before_cursor_execute", on_execute)
    runtime.http.event_hooks = hooks
