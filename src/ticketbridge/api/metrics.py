"""``GET /metrics`` (Prometheus text format) and the middleware timing every request.

The route label is the matched FastAPI path template (``/v1/tickets/{ticket_id}``), never the
raw path: ids would make a series per ticket and may be tenant data. Unmatched paths share one
label. The database-derived gauges are refreshed at most every
``METRICS_DB_REFRESH_SECS``, so a scrape is a few microseconds of formatting, not queries.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbridge import metrics
from ticketbridge.api.deps import RuntimeDep
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
    """Re-reads the database gauges during a scrape, at most once per interval; concurrent
    scrapes do not queue behind a refresh, they answer with the previous values."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.refreshed = float("-inf")
        self.lock = asyncio.Lock()

    async def refresh(self, runtime: Runtime) -> None:
        if time.monotonic() - self.refreshed < self.interval or self.lock.locked():
            return
        async with self.lock:
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
            now = datetime.now(UTC)
            lag = {cid: max(0.0, (now - _aware(at)).total_seconds()) for cid, at in success.items()}
            metrics.set_db_gauges(jobs, lag, tickets, known)
            self.refreshed = time.monotonic()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def install(app: FastAPI, settings: Settings) -> None:
    """Mount /metrics and time every request (one call in app.py)."""
    if not settings.metrics_enabled:
        return
    metrics.install()
    gauges = _DbGauges(settings.metrics_db_refresh_secs)
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    async def scrape(runtime: RuntimeDep) -> Response:
        await gauges.refresh(runtime)
        return Response(metrics.scrape(), media_type=metrics.CONTENT_TYPE)

    app.include_router(router)
    app.add_middleware(MetricsMiddleware)
