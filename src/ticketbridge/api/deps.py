"""Request dependencies. ``SessionDep`` is the unit of work: it commits after the handler
returns and before the response is sent (``scope="function"``), so a 200 means committed.

The process's long-lived parts (runtime, job runner, sync scheduler, passthrough caches) are
one typed :class:`Services`, built by app.py's lifespan; routes reach them only through the
``*Dep`` aliases below, which are the one place that reads ``app.state``.

Every dependency is ``async def``: FastAPI runs a plain ``def`` one in a worker thread, a
round trip through the thread pool per dependency and request. The API key and the
connection come from the process cache (``provisioning/cache.py``) when it has them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ticketbridge.errors import (
    Conflict,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
)
from ticketbridge.idempotency.service import HEADER, Slot, hash_request, idempotent
from ticketbridge.jobs.runner import JobRunner
from ticketbridge.passthrough.service import PassthroughResources
from ticketbridge.provisioning import keys as api_keys
from ticketbridge.provisioning.cache import TenancyCache
from ticketbridge.provisioning.firstrun import SetupToken
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Connection
from ticketbridge.store.session import has_writes
from ticketbridge.sync.scheduler import SyncScheduler


@dataclass(frozen=True)
class Services:
    """What one API process runs besides its routes; set on ``app.state.services`` by the
    lifespan (app.py) once everything in it has started, removed when it stops."""

    runtime: Runtime
    # Embedded mode: the in-process runner; distributed mode: the procrastinate enqueuer.
    job_runner: JobRunner
    sync_scheduler: SyncScheduler
    passthrough: PassthroughResources
    # API key -> account, and connections (provisioning/cache.py).
    tenancy: TenancyCache = field(default_factory=TenancyCache)
    # Sessions of the routes that only read (ReadSessionDep; store/session.py).
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a sync dependency in the thread pool, a hand-off for an attribute read.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_runtime(services: ServicesDep) -> Runtime:
    return services.runtime


async def get_job_runner(services: ServicesDep) -> JobRunner:
    return services.job_runner


async def get_sync_scheduler(services: ServicesDep) -> SyncScheduler:
    return services.sync_scheduler


async def get_passthrough(services: ServicesDep) -> PassthroughResources:
    return services.passthrough


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
JobRunnerDep = Annotated[JobRunner, Depends(get_job_runner)]
SchedulerDep = Annotated[SyncScheduler, Depends(get_sync_scheduler)]
PassthroughDep = Annotated[PassthroughResources, Depends(get_passthrough)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(services) as session:
        yield session


@asynccontextmanager
async def unit_of_work(services: Services) -> AsyncIterator[AsyncSession]:
    """``SessionDep`` as a context manager (api/fast_create.py): committed when the block
    wrote and ended without an error, rolled back otherwise."""
    async with services.runtime.sessionmaker() as session:
        try:
            yield session
            if has_writes(session):
                await session.commit()
            # A read-only unit of work is not committed: closing the session ends its
            # transaction, one database round trip fewer than a commit.
        except PoolTimeout:
            await session.rollback()
            # Every pooled connection stayed busy for the pool timeout: fail fast, retry soon.
            raise ServiceUnavailable("the database is busy; retry shortly", retry_after=2) from None
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """The unit of work of a route that only reads: never committed, and on PostgreSQL in
    autocommit (``create_read_sessionmaker``: no BEGIN and ROLLBACK round trips)."""
    maker = services.read_sessionmaker or services.runtime.sessionmaker
    async with maker() as session:
        try:
            yield session
        except PoolTimeout:
            raise ServiceUnavailable("the database is busy; retry shortly", retry_after=2) from None


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


async def get_account_id(
    services: ServicesDep,
    x_api_key: Annotated[
        str | None, Header(alias="X-API-KEY", description="Account API key")
    ] = None,
) -> uuid.UUID:
    return await account_of(services, x_api_key)


async def account_of(services: Services, x_api_key: str | None) -> uuid.UUID:
    """The account of the request's API key (``get_account_id``; api/fast_reads.py)."""
    if not x_api_key:
        raise Unauthorized("missing X-API-KEY header")
    runtime = services.runtime
    key = await api_keys.authenticate_request(
        runtime.sessionmaker, x_api_key, runtime.clock(), services.tenancy.keys
    )
    if key is None:  # unknown and revoked keys alike
        raise Unauthorized("invalid API key")
    return key.account_id


AccountDep = Annotated[uuid.UUID, Depends(get_account_id)]


def parse_uuid(value: str, field: str, location: str = "header") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unprocessable(f"{field} must be a UUID", field=field, location=location) from None


async def get_connection(
    services: ServicesDep,
    account_id: AccountDep,
    x_connection_id: Annotated[
        str | None, Header(alias="X-CONNECTION-ID", description="Connection of this account")
    ] = None,
) -> Connection:
    return await connection_of(services, account_id, x_connection_id)


async def resolve_connection(
    services: Services, x_api_key: str | None, x_connection_id: str | None
) -> Connection:
    """``ConnectionDep`` as one plain call, in the dependencies' order: the key, then the
    connection (api/fast_reads.py)."""
    return await connection_of(services, await account_of(services, x_api_key), x_connection_id)


async def connection_of(
    services: Services, account_id: uuid.UUID, x_connection_id: str | None
) -> Connection:
    if not x_connection_id:
        raise Unprocessable(
            "missing X-CONNECTION-ID header", field="X-CONNECTION-ID", location="header"
        )
    conn_id = parse_uuid(x_connection_id, "X-CONNECTION-ID")
    # Read in a short session of its own on a cache miss (like the key), so this dependency
    # needs no unit of work: a route that reads nothing else opens none.
    conn = await services.tenancy.connection(services.runtime.sessionmaker, account_id, conn_id)
    if conn is None:  # unknown and foreign ids alike
        raise NotFound("connection not found")
    if not conn.is_active:
        raise Conflict("connection is disabled; re-enable it with PATCH is_active=true")
    return conn


ConnectionDep = Annotated[Connection, Depends(get_connection)]


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        description="Replays the first response for 24 h when the same body is sent again",
    ),
]


@dataclass(frozen=True)
class IdempotentWrite:
    """What an idempotent POST needs: the unit of work, the tenant and the optional key."""

    session: AsyncSession
    runtime: Runtime
    account_id: uuid.UUID
    conn: Connection
    key: str | None

    def claim(
        self, route: str, request: Any | Callable[[], Any]
    ) -> AbstractAsyncContextManager[Slot]:
        """:func:`~ticketbridge.idempotency.service.idempotent` for ``route`` and this
        JSON-able request body, or a function returning it: it is only needed with a key
        (a bulk body's dump and digest were ~3% of a bulk/sync request's CPU)."""
        digest = ""
        if self.key is not None:
            digest = hash_request(request() if callable(request) else request)
        return idempotent(
            self.runtime,
            self.session,
            account_id=self.account_id,
            connection_id=self.conn.id,
            route=route,
            key=self.key,
            request_hash=digest,
        )


async def get_idempotent_write(
    session: SessionDep,
    runtime: RuntimeDep,
    account_id: AccountDep,
    conn: ConnectionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> IdempotentWrite:
    return IdempotentWrite(session, runtime, account_id, conn, idempotency_key)


IdempotentWriteDep = Annotated[IdempotentWrite, Depends(get_idempotent_write)]


async def get_setup_token(request: Request) -> SetupToken | None:
    """The first-run token ``serve`` printed (cli.py sets it before start), if any."""
    token: SetupToken | None = getattr(request.app.state, "setup_token", None)
    return token


SetupTokenDep = Annotated[SetupToken | None, Depends(get_setup_token)]
