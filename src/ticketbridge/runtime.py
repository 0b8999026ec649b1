"""The process-wide resources shared by the API, job runners and CLI commands."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ticketbridge.config import Settings
from ticketbridge.connectors.aiohttp_transport import AiohttpTransport
from ticketbridge.connectors.guarded_transport import GuardedTransport
from ticketbridge.connectors.http import RetryPolicy, vendor_client
from ticketbridge.connectors.registry import VENDOR_MODULES, ConnectorFactory
from ticketbridge.connectors.url_policy import UrlPolicy
from ticketbridge.crypto import SecretBox, load_keys
from ticketbridge.offload import Offload
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
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)
    # Time source of throttled writes (API key last_used_at); tests inject a fake clock.
    clock: Callable[[], datetime] = utcnow
    # CPU-bound pure work (sync page mapping) in a helper process; None: in this one.
    offload: Offload | None = None

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


def vendor_ssl_context(settings: Settings) -> ssl.SSLContext:
    """The system's CAs plus ``vendor_ca_bundle`` when set (verification always on)."""
    context = httpx.create_ssl_context()
    if settings.vendor_ca_bundle is not None:
        context.load_verify_locations(cafile=str(settings.vendor_ca_bundle))
    return context


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
    url_policy = UrlPolicy(allow_private=settings.allow_private_vendor_urls)
    if vendor_transport is None:
        tls = vendor_ssl_context(settings)
        vendor_transport = (
            AiohttpTransport(limits=limits, ssl_context=tls)
            if url_policy.allow_private
            else GuardedTransport(limits=limits, ssl_context=tls)
        )
    if settings.demo_enabled:
        # Demo connections' calls stay in this process (connectors/demo.py).
        from ticketbridge.connectors.demo import DemoTransport

        vendor_transport = DemoTransport(vendor_transport)
    http = vendor_client(vendor_transport, limits=limits, timeout=settings.vendor_timeout_secs)
    policy = replace(
        retry_policy or RetryPolicy(max_total_wait=settings.vendor_max_retry_wait_secs),
        total_deadline=settings.vendor_total_deadline_secs,
        max_response_bytes=settings.vendor_max_response_bytes,
    )
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
        url_policy=url_policy,
        # The vendor modules (by name) are imported once by the helper's fork server.
        # The helper maps sync pages (the vendor modules) and makes their rows' stored form
        # (tickets.stored, named here as text: this layer does not import the domain).
        offload=Offload(preload=[*VENDOR_MODULES, "ticketbridge.tickets.stored"])
        if settings.sync_map_in_worker
        else None,
    )
    try:
        yield runtime
    finally:
        if runtime.offload is not None:
            await runtime.offload.aclose()
        await http.aclose()
        await engine.dispose()
