"""Fixtures and helpers shared by the sync tests and the synced-read API tests.

``fake_jira``, ``vendor_transport``, ``runtime``, ``tenant`` and ``other_tenant`` stand in
until the shared conftest provides them (same names and meaning). Every tenant's connection
points at the emulator's ``acme`` site (https://acme.atlassian.net).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.helpers import Tenant, jira_credentials, make_tenant
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.fakejira import FakeJiraState, SeedSpec, Site, create_app
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import IssueType, Project, SyncState, Ticket, User

# What ``from tests.sync.fixtures import *`` brings in: the fixtures only.
__all__ = [
    "fake_jira",
    "other_tenant",
    "runtime",
    "site",
    "tenant",
    "vendor_transport",
    "waits",
]

SITE_HOST = "acme.atlassian.net"
# Seeds are pinned to a fixed "now" so that every run sees the same data.
SEED_NOW_MS = 1_750_000_000_000  # 2025-06-15


@dataclass
class Waits:
    """Retry waits the vendor HTTP layer asked for (recorded, never slept)."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def fake_jira() -> FakeJiraState:
    return FakeJiraState()


@pytest.fixture
def vendor_transport(fake_jira: FakeJiraState) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=create_app(fake_jira))


@pytest.fixture
def site(fake_jira: FakeJiraState) -> Site:
    return fake_jira.site(SITE_HOST)


@pytest.fixture
def runtime(app: Any) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


@pytest.fixture
def waits(runtime: Runtime) -> Waits:
    """Records retry waits instead of sleeping (more attempts, so injected faults at a high
    rate never exhaust the budget by chance)."""
    recorder = Waits()
    runtime.connectors.policy = RetryPolicy(max_attempts=12, max_total_wait=10_000, sleep=recorder)
    return recorder


@pytest.fixture
async def tenant(client: httpx.AsyncClient, runtime: Runtime, waits: Waits) -> Tenant:
    return await make_tenant(client, runtime, "acme")


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient, runtime: Runtime) -> Tenant:
    return await make_tenant(client, runtime, "globex")


def seed(
    site: Site, *, projects: int = 3, per_project: int = 100, users: int = 12, number: int = 4
) -> Site:
    site.reset(
        SeedSpec(
            projects=projects,
            issues_per_project=per_project,
            users=users,
            seed=number,
            now_ms=SEED_NOW_MS,
        )
    )
    return site


async def tenant_on(
    client: httpx.AsyncClient, runtime: Runtime, account: str, host: str, **options: Any
) -> Tenant:
    """A tenant whose connection points at another emulated site."""
    return await make_tenant(
        client,
        runtime,
        account,
        options=options or None,
        credentials=jira_credentials(base_url=f"https://{host}"),
    )


def cid(tenant: Tenant) -> uuid.UUID:
    assert tenant.connection_id is not None
    return uuid.UUID(tenant.connection_id)


def search_calls(site: Site) -> int:
    return site.stats.routes["POST /rest/api/3/search/jql"]


async def tickets_by_vendor_id(runtime: Runtime, connection_id: uuid.UUID) -> dict[str, Ticket]:
    async with runtime.session() as s:
        rows = await s.scalars(select(Ticket).where(Ticket.connection_id == connection_id))
        return {t.vendor_id: t for t in rows}


async def sync_state(runtime: Runtime, connection_id: uuid.UUID) -> SyncState:
    async with runtime.session() as s:
        state = await s.get(SyncState, connection_id)
        assert state is not None
        return state


@dataclass
class Catalog:
    projects: dict[uuid.UUID, Project]
    issue_types: dict[uuid.UUID, IssueType]
    users: dict[uuid.UUID, User]


async def catalog(runtime: Runtime, connection_id: uuid.UUID) -> Catalog:
    async with runtime.session() as s:
        projects = await s.scalars(select(Project).where(Project.connection_id == connection_id))
        types = await s.scalars(select(IssueType).where(IssueType.connection_id == connection_id))
        users = await s.scalars(select(User).where(User.connection_id == connection_id))
        return Catalog(
            {p.id: p for p in projects}, {t.id: t for t in types}, {u.id: u for u in users}
        )


def snapshot(tickets: dict[str, Ticket], cat: Catalog) -> dict[str, dict[str, Any]]:
    """Store contents in vendor terms (UUID links replaced by the linked row's vendor id), so
    two stores filled independently compare equal when they hold the same data."""
    by_id = {t.id: t for t in tickets.values()}
    out = {}
    for vid, t in tickets.items():
        row = {c.name: getattr(t, c.name) for c in Ticket.__table__.columns}
        for name in ("id", "connection_id", "created_at", "updated_at"):
            row.pop(name)
        row["project_id"] = cat.projects[t.project_id].key if t.project_id else None
        row["type_id"] = cat.issue_types[t.type_id].vendor_id if t.type_id else None
        row["assigned_user_id"] = (
            cat.users[t.assigned_user_id].vendor_id if t.assigned_user_id else None
        )
        row["created_by_user_id"] = (
            cat.users[t.created_by_user_id].vendor_id if t.created_by_user_id else None
        )
        row["parent_ticket_id"] = (
            by_id[t.parent_ticket_id].vendor_id if t.parent_ticket_id else None
        )
        out[vid] = row
    return out
