"""Shared fixtures: the database backends, the runtime and the API client.

Every test that uses ``db_url`` runs twice: on a SQLite file and on PostgreSQL. The
PostgreSQL server comes from ``TICKETBRIDGE_TEST_DATABASE_URL``; each test session creates its
own database there and drops it at the end. With ``CI=true`` an unreachable server fails the
run; elsewhere the PostgreSQL half is skipped with a banner at the end of the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import ticketbridge.store.models  # noqa: F401
from tests.helpers import Tenant, make_tenant, scratch_database
from ticketbridge.app import create_app
from ticketbridge.config import Settings
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.fakejira import FakeJiraState, Site
from ticketbridge.fakejira import create_app as create_fake_jira
from ticketbridge.runtime import Runtime
from ticketbridge.store.base import Base
from ticketbridge.store.migrate import upgrade
from ticketbridge.store.urls import sync_url

PG_URL = os.environ.get(
    "TICKETBRIDGE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
_pg_skip_reason: list[str] = []


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(make_url(PG_URL).render_as_string(False), connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means "unreachable", reported verbatim
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server for this test session."""
    error = _pg_reachable()
    if error:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable and CI=true: {error}")
        _pg_skip_reason.append(error)
        pytest.skip(f"PostgreSQL unreachable: {error}")
    with scratch_database(PG_URL, f"tb_test_{os.getpid()}_{uuid.uuid4().hex[:8]}") as url:
        yield url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def migrated_pg(pg_server_url: str) -> str:
    upgrade(pg_server_url)
    return pg_server_url


def _truncate(url: str) -> None:
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DELETE FROM "{table.name}"'))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    url: str = request.getfixturevalue(
        f"migrated_{'sqlite' if request.param == 'sqlite' else 'pg'}"
    )
    _truncate(url)
    yield url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        secret_key="Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc=",
        scheduler_enabled=False,
        # The emulator is in-process (or on loopback): no DNS, no public address.
        allow_private_vendor_urls=True,
    )


@pytest.fixture
def fake_jira() -> FakeJiraState:
    """A fresh Jira Cloud emulator per test; sites appear on first use (empty DEMO project)."""
    return FakeJiraState()


@pytest.fixture
def fake_site(fake_jira: FakeJiraState) -> Site:
    """The emulator's site behind ``https://acme.atlassian.net`` (the tenants' connection)."""
    return fake_jira.site("acme.atlassian.net")


@pytest.fixture
def vendor_transport(fake_jira: FakeJiraState) -> httpx.AsyncBaseTransport:
    """All vendor traffic of a test goes in-process to the emulator: never to the network."""
    return httpx.ASGITransport(app=create_fake_jira(fake_jira))


class RecordingSleep:
    """Retry waits are recorded instead of slept, so tests can assert Retry-After was used."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def retry_sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def retry_policy(retry_sleep: RecordingSleep) -> RetryPolicy:
    return RetryPolicy(sleep=retry_sleep)


@pytest.fixture
async def app(
    settings: Settings, vendor_transport: httpx.AsyncBaseTransport, retry_policy: RetryPolicy
) -> Any:
    application = create_app(settings, vendor_transport=vendor_transport, retry_policy=retry_policy)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def runtime(app: Any) -> Runtime:
    runtime: Runtime = app.state.services.runtime
    return runtime


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tb.test") as c:
        yield c


@pytest.fixture
async def tenant(client: httpx.AsyncClient, runtime: Runtime) -> Tenant:
    """Account "acme" with a key, an organization and a Jira connection to the emulator."""
    return await make_tenant(client, runtime, "acme")


@pytest.fixture
async def other_tenant(client: httpx.AsyncClient, runtime: Runtime) -> Tenant:
    """A second account ("globex") with its own connection to the same emulator site."""
    return await make_tenant(client, runtime, "globex")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_skip_reason:
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(
            f"PostgreSQL TESTS WERE SKIPPED: {PG_URL} unreachable ({_pg_skip_reason[0]}).",
            red=True,
            bold=True,
        )
        terminalreporter.write_line(
            "Only the SQLite half of the suite ran. Set TICKETBRIDGE_TEST_DATABASE_URL.",
            red=True,
            bold=True,
        )
        terminalreporter.write_line(bar, red=True, bold=True)
