"""The FastAPI application: routers, error rendering, CORS and the process lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketbridge import __version__, console
from ticketbridge.api import metrics as metrics_api
from ticketbridge.api.deps import Services
from ticketbridge.api.error_schema import install_error_schema
from ticketbridge.api.fast_reads import FastReadsMiddleware
from ticketbridge.api.middleware import (
    REQUEST_ID_HEADER,
    BodyLimitMiddleware,
    CatchAllMiddleware,
    RequestIdMiddleware,
    error_response,
)
from ticketbridge.api.ratelimit import RateLimitMiddleware, TokenBuckets
from ticketbridge.api.responses import document_common_errors
from ticketbridge.api.router import api_router
from ticketbridge.config import Settings
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.errors import TicketbridgeError, error_body, error_sentence
from ticketbridge.handlers import job_handlers
from ticketbridge.jobs.embedded import EmbeddedRunner
from ticketbridge.jobs.limiter import install_distributed_limiter
from ticketbridge.jobs.procrastinate_runner import open_enqueuer
from ticketbridge.jobs.registry import Handlers
from ticketbridge.jobs.runner import JobRunner
from ticketbridge.logging import configure_logging, get_logger
from ticketbridge.passthrough.service import PassthroughResources
from ticketbridge.provisioning.cache import TenancyCache
from ticketbridge.runtime import Runtime, open_runtime
from ticketbridge.store.session import create_read_sessionmaker
from ticketbridge.sync.scheduler import SyncScheduler, runs_periodically

log = get_logger(__name__)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Drop "input"/"ctx": the rejected value may be a credential, and the caller sent it anyway.
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Every 4xx/5xx body is ``{"detail": "<sentence>", "errors": [...]}``; unhandled
    exceptions are answered by ``CatchAllMiddleware``."""

    @app.exception_handler(TicketbridgeError)
    async def _tb_error(_: Request, exc: TicketbridgeError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = _validation_errors(exc)
        return JSONResponse(error_body(error_sentence(items), items), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Routing 404/405 and FastAPI's own 400s keep their text in the same body.
        return JSONResponse(
            error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Middleware, innermost first (Starlette wraps the last added outermost)."""
    app.add_middleware(FastReadsMiddleware)  # behind every check of the edge
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_body_bytes)
    if settings.rate_limit_active:
        buckets = TokenBuckets(settings.rate_limit_per_sec, settings.rate_limit_burst)
        app.state.rate_buckets = buckets
        app.add_middleware(RateLimitMiddleware, buckets=buckets)
    app.add_middleware(CatchAllMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["Retry-After", REQUEST_ID_HEADER],
        )
    app.add_middleware(RequestIdMiddleware)


async def start_job_runner(
    stack: AsyncExitStack, runtime: Runtime, handlers: Handlers
) -> JobRunner:
    """Embedded mode runs jobs in this process; distributed mode only hands them to the
    workers through procrastinate, and bounds this process's vendor calls per connection
    across all processes (the PostgreSQL slot limiter)."""
    if runtime.settings.mode == "embedded":
        return await stack.enter_async_context(EmbeddedRunner(runtime, handlers).serve())
    await stack.enter_async_context(install_distributed_limiter(runtime))
    return await stack.enter_async_context(open_enqueuer(runtime.settings))


def create_app(
    settings: Settings | None = None,
    *,
    vendor_transport: httpx.AsyncBaseTransport | None = None,
    retry_policy: RetryPolicy | None = None,
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Everything this process runs besides answering requests, started in this order
        and stopped in the reverse one (jobs are handed back before the database closes)."""
        async with AsyncExitStack() as stack:
            # Database engine, vendor HTTP client, connector factory, secret box.
            runtime = await stack.enter_async_context(
                open_runtime(settings, vendor_transport=vendor_transport, retry_policy=retry_policy)
            )
            # Sync scheduler: tracks manual syncs; periodic syncs only when embedded.
            scheduler = await stack.enter_async_context(
                SyncScheduler(runtime, periodic=runs_periodically(settings))
            )
            # Job runner: embedded runner (running the domains' job types, handlers.py), or
            # procrastinate enqueuer + cross-process limiter.
            job_runner = await start_job_runner(stack, runtime, job_handlers())
            # Passthrough cache, cursor signer and interactive retry policy (no task).
            passthrough = PassthroughResources.create(runtime)
            app.state.services = Services(
                runtime=runtime,
                job_runner=job_runner,
                sync_scheduler=scheduler,
                passthrough=passthrough,
                tenancy=TenancyCache(settings.auth_cache_ttl_secs),
                read_sessionmaker=create_read_sessionmaker(runtime.engine),
            )
            try:
                yield
            finally:
                del app.state.services

    app = FastAPI(
        title="ticketbridge",
        version=__version__,
        description="Normalized ITSM API (create, update, bulk, search, sync) over Jira Cloud.",
        lifespan=lifespan,
    )
    install_edge(app, settings)
    install_error_handlers(app)
    install_error_schema(app)
    app.include_router(api_router)
    console.install(app)
    metrics_api.install(
        app, settings
    )  # /metrics; its middleware wraps the whole edge  # the web console at /console/
    document_common_errors(app)  # last: covers every /v1 route included above
    return app
