"""Fixtures for ticket-write tests, on top of :mod:`tests.fixtures` (emulator, tenants,
``synced``): ``ops_site`` for every test, and SQL statement capture."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.fixtures.tenants import Tenant, cid
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync


@pytest.fixture(autouse=True)
def _tickets_site(ops_site: Site) -> None:
    """Every ticket-write test runs against ``ops_site`` (DEMO and OPS, three people)."""


async def sync(runtime: Runtime, tenant: Tenant) -> None:
    await run_sync(runtime, cid(tenant), full=True)


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
