"""Fixtures for the job-engine tests: a runtime WITHOUT the app (so no runner of the app's
lifespan competes with the runners a test drives), fakejira in-process, and a connection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.fixtures.tenants import jira_credentials
from ticketbridge.config import Settings
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.fakejira import FakeJiraState, Site, create_app
from ticketbridge.provisioning.schemas import ConnectionCreate, OrganizationCreate
from ticketbridge.provisioning.service import create_api_key, create_connection, create_organization
from ticketbridge.runtime import Runtime, open_runtime
from ticketbridge.store.base import utcnow
from ticketbridge.store.models import Connection, Job


@pytest.fixture(autouse=True)
def _no_settle(no_settle_delay: None) -> None:
    """No settle delay before marker searches: the emulator's search sees writes at once."""


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def runtime(settings: Settings, fake_jira: FakeJiraState) -> AsyncIterator[Runtime]:
    """Bulk jobs of up to 1000 tickets (chunks of 50), retry waits not slept."""
    transport = httpx.ASGITransport(app=create_app(fake_jira))
    settings = settings.model_copy(update={"bulk_max_tickets": 1000})
    async with open_runtime(
        settings, vendor_transport=transport, retry_policy=RetryPolicy(sleep=_no_sleep)
    ) as rt:
        yield rt


@dataclass
class StoreTenant:
    account_id: uuid.UUID
    connection: Connection


@pytest.fixture
async def store_tenant(runtime: Runtime, fake_site: Site) -> StoreTenant:
    """Account "acme" and its connection, made through the services (no app, no API)."""
    async with runtime.session() as s:
        key, _ = await create_api_key(s, name="jobs", account_name="acme")
        org = await create_organization(s, key.account_id, OrganizationCreate(name="acme org"))
        conn = await create_connection(
            s,
            runtime.box,
            key.account_id,
            org.id,
            ConnectionCreate(vendor="JIRA", credentials=jira_credentials()),
            default_refresh_interval=900,
            url_policy=runtime.url_policy,
        )
    return StoreTenant(key.account_id, conn)


def tickets(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"name": f"job ticket {i}", "project_vendor_id": "DEMO", "type_vendor_id": "10001"}
        for i in range(start, start + count)
    ]


async def expire_lease(runtime: Runtime, job_id: uuid.UUID) -> None:
    """Move the job's lease into the past, as if its runner had been dead for a while (no
    real sleep until it runs out)."""
    async with runtime.session() as s:
        await s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
