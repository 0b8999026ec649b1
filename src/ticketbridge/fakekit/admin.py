"""The admin API's common part under ``/_fake`` (JSON, no authentication, never faulted).

Each call acts on the tenant chosen by the ``Host`` header. :class:`AdminAPI` serves, for a
vendor's seed-spec parser and tenant summary:

* ``POST /_fake/reset`` ``{}`` or ``{"seed": <seed spec>}``: wipe the tenant (data, faults,
  stats) and populate it again, seeded if a spec is given; answers the summary.
* ``POST /_fake/seed`` ``<seed spec>``: replace the data with seeded data (faults and stats
  kept); answers the summary.
* ``GET /_fake/stats``, ``POST /_fake/stats/reset``: :meth:`~.faults.Stats.to_json`.
* ``GET /_fake/faults``, ``PUT /_fake/faults``: the fault configuration (a PUT replaces it).

A refused call answers ``{"error": <message>}`` (:func:`problem`), 400 unless said otherwise.
The vendor adds its own routes (records, users, ...) with :meth:`AdminAPI.body`,
:func:`problem` and :func:`~.app.tenant_of`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .app import tenant_of


def problem(message: str, status: int = 400) -> Response:
    return JSONResponse({"error": message}, status_code=status)


class AdminAPI:
    """The shared ``/_fake`` routes of one emulator.

    ``seed_spec`` parses a seed spec (raises ``ValueError``); ``summary`` describes a tenant
    after a reset or seed; ``invalid_body`` replaces the JSON parser's own message for a body
    that is not JSON (``None`` keeps the parser's message).
    """

    def __init__(
        self,
        *,
        seed_spec: Callable[[Any], Any],
        summary: Callable[[Any], dict[str, Any]],
        invalid_body: str | None = None,
    ) -> None:
        self.seed_spec = seed_spec
        self.summary = summary
        self.invalid_body = invalid_body

    async def body(self, request: Request) -> Any:
        """The JSON body (``{}`` when empty); raises ``ValueError``."""
        raw = await request.body()
        if self.invalid_body is None:
            return json.loads(raw) if raw.strip() else {}
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ValueError(self.invalid_body) from None

    async def reset(self, request: Request) -> Response:
        tenant = tenant_of(request)
        try:
            data = await self.body(request)
            wanted = data.get("seed") if isinstance(data, dict) else None
            spec = self.seed_spec(wanted) if wanted else None
        except ValueError as exc:
            return problem(str(exc))
        tenant.reset(spec)
        return JSONResponse(self.summary(tenant))

    async def seed(self, request: Request) -> Response:
        tenant = tenant_of(request)
        try:
            spec = self.seed_spec(await self.body(request))
        except ValueError as exc:
            return problem(str(exc))
        tenant.reset(spec, keep_faults=True)
        return JSONResponse(self.summary(tenant))

    async def stats(self, request: Request) -> Response:
        tenant = tenant_of(request)
        return JSONResponse(tenant.stats.to_json(tenant.faults))

    async def stats_reset(self, request: Request) -> Response:
        tenant = tenant_of(request)
        tenant.stats.reset()
        tenant.faults.injected.clear()
        return JSONResponse(tenant.stats.to_json(tenant.faults))

    async def faults(self, request: Request) -> Response:
        tenant = tenant_of(request)
        if request.method == "PUT":
            try:
                tenant.faults.configure(await self.body(request))
            except ValueError as exc:
                return problem(str(exc))
        return JSONResponse(tenant.faults.config.to_json())

    def routes(self) -> list[Route]:
        return [
            Route("/_fake/reset", self.reset, methods=["POST"]),
            Route("/_fake/seed", self.seed, methods=["POST"]),
            Route("/_fake/stats", self.stats, methods=["GET"]),
            Route("/_fake/stats/reset", self.stats_reset, methods=["POST"]),
            Route("/_fake/faults", self.faults, methods=["GET", "PUT"]),
        ]
