"""``GET /metrics`` (Prometheus text format) and the middleware timing every request.

The route label is the matched FastAPI path template (``/v1/tickets/{ticket_id}``), never the
raw path: ids would make a series per ticket and may be tenant data. Unmatched paths share one
label. The database-derived gauges are re-read in the background at most every
``METRICS_DB_REFRESH_SECS``, so a scrape is formatting (about 1 ms for 2,000 lines), not queries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbridge import metrics
from ticketbridge.api.deps import Services, ServicesDep
from ticketbridge.config import Settings
from ticketbridge.logging import get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.stats import StatsRepository

log = get_logger(__name__)
UNMATCHED = "<unmatched>"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            if template != "/metrics":
                metrics.observe_request(
                    template, scope["method"], status, time.perf_counter() - started
                )


class _DbGauges:
    """The database gauges, read off the scrape's path.

    A scrape never waits for the database, except the process's first (it has nothing to show
    yet): when the last read is older than the interval it starts one in the background and
    answers with the values it has, so they are at most one interval plus one scrape old. The
    sync lag is computed at each scrape from the last-success times read: it grows between
    reads instead of standing still (a sync that succeeded since shows at the next read).
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.refreshed = float("-inf")
        self.task: asyncio.Task[None] | None = None
        self.last_success: dict[str, datetime] = {}

    async def before_scrape(self, services: Services) -> None:
        stale = time.monotonic() - self.refreshed >= self.interval
        if stale and self.task is None:
            self.task = asyncio.create_task(self._refresh(services.runtime))
            self.task.add_done_callback(self._done)
        if self.refreshed == float("-inf") and self.task is not None:
            await asyncio.shield(self.task)  # a cancelled scrape leaves the read running
        metrics.set_sync_lag(_lag(self.last_success))

    def _done(self, task: asyncio.Task[None]) -> None:
        self.task = None

    async def _refresh(self, runtime: Runtime) -> None:
        try:
            async with runtime.session() as s:
                repo = StatsRepository(s)
                jobs = await repo.job_queue()
                known = await repo.connection_ids()
                success = await repo.last_success()
                tickets = await repo.tickets_per_connection()
        except Exception as exc:  # a scrape still answers with what the process knows
            log.warning("metrics_db_refresh_failed", error=type(exc).__name__)
            return
        self.last_success = {cid: at for cid, at in success.items() if cid in known}
        metrics.set_db_gauges(jobs, _lag(self.last_success), tickets, known)
        self.refreshed = time.monotonic()

    async def stop(self) -> None:
        """Waits for a read in flight (the lifespan closes the database after this)."""
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


def _lag(success: dict[str, datetime]) -> dict[str, float]:
    now = datetime.now(UTC)
    return {cid: max(0.0, (now - _aware(at)).total_seconds()) for cid, at in success.items()}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def install(app: FastAPI, settings: Settings) -> None:
    """Mount /metrics and time every request (one call in app.py)."""
    if not settings.metrics_enabled:
        return
    metrics.install()
    gauges = _DbGauges(settings.metrics_db_refresh_secs)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gauges.stop()
            metrics.process_exits()

    router = APIRouter(tags=["operations"], lifespan=lifespan)

    # Only the async ServicesDep: FastAPI runs sync dependencies (RuntimeDep) in the thread
    # pool, hand-offs that made a scrape under load wait behind the requests in flight.
    @router.get("/metrics", include_in_schema=False)
    async def scrape(services: ServicesDep) -> Response:
        await gauges.before_scrape(services)
        return Response(metrics.scrape(), media_type=metrics.CONTENT_TYPE)

    app.include_router(router)
    app.add_middleware(MetricsMiddleware)
