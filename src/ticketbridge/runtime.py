"""The process-wide resources shared by the API, job runners and CLI commands."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ticketbridge.config import Settings
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.connectors.registry import ConnectorFactory
from ticketbridge.crypto import SecretBox, load_keys
from ticketbridge.store.base import utcnow
from ticketbridge.store.session import create_engine, create_sessionmaker


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    box: SecretBox
    http: httpx.AsyncClient
    connectors: ConnectorFactory
    # Time source of throttled writes (API key last_used_at); tests inject a fake clock.
    clock: Callable[[], datetime] = utcnow

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on error (jobs and CLI use this)."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    vendor_transport: httpx.AsyncBaseTransport | None = None,
    retry_policy: RetryPolicy | None = None,
) -> AsyncIterator[Runtime]:
    """``vendor_transport`` is the test seam: fakejira in-process via httpx.ASGITransport."""
    box = SecretBox(load_keys(settings))  # first: a bad key fails before anything is opened
    engine = create_engine(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_secs,
    )
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    http = httpx.AsyncClient(
        transport=vendor_transport,
        limits=limits,
        timeout=settings.vendor_timeout_secs,
        headers={"User-Agent": "ticketbridge", "Accept": "application/json"},
    )
    policy = retry_policy or RetryPolicy(max_total_wait=settings.vendor_max_retry_wait_secs)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        box=box,
        http=http,
        connectors=ConnectorFactory(
            http,
            timeout=settings.vendor_timeout_secs,
            max_concurrency=settings.vendor_max_concurrency,
            policy=policy,
        ),
    )
    try:
        yield runtime
    finally:
        await http.aclose()
        await engine.dispose()
