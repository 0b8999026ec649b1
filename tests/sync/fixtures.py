"""Fixtures and helpers shared by the sync tests and the synced-read API tests.

The shared conftest provides the emulator (``fake_jira``, ``fake_site``), the app, its
``runtime`` and the ``tenant`` / ``other_tenant`` connections to the emulator's ``acme`` site
(https://acme.atlassian.net). These add a short name for that site and a more patient
retry policy for fault-injection tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import RecordingSleep
from tests.helpers import Tenant, jira_credentials, make_tenant
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.fakejira import SeedSpec, Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import IssueType, Project, SyncState, Ticket, User

# What ``from tests.sync.fixtures import *`` brings in: the fixtures only.
__all__ = ["site", "waits"]

# Seeds are pinned to a fixed "now" so that every run sees the same data.
SEED_NOW_MS = 1_750_000_000_000  # 2025-06-15


@pytest.fixture
def site(fake_site: Site) -> Site:
    return fake_site


@pytest.fixture
def waits(runtime: Runtime, retry_sleep: RecordingSleep) -> RecordingSleep:
    """Recorded retry waits, with more attempts than the default policy, so faults injected
    at a high rate never exhaust the retry budget by chance."""
    runtime.connectors.policy = RetryPolicy(
        max_attempts=12, max_total_wait=10_000, sleep=retry_sleep
    )
    return retry_sleep


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
