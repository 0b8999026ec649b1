"""The one list of the API's routers: every route the service answers is mounted here.

Order matters where prefixes overlap (``/v1/itsm/tickets``: single writes, reads, then bulk),
so add a router at the place its paths need, not just at the end. Routes are matched in this
order, one by one, on every request: the data routes come first (provisioning is rare).
"""

from __future__ import annotations

from fastapi import APIRouter

from ticketbridge.api import (
    api_keys,
    bulk,
    catalog,
    groups,
    health,
    jobs,
    passthrough,
    provisioning,
    setup,
    sync,
    ticket_writes,
    tickets,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    ticket_writes.router,
    tickets.router,
    passthrough.router,
    catalog.router,
    groups.router,
    sync.router,
    jobs.router,
    bulk.router,
    provisioning.router,
    api_keys.router,
    setup.router,  # first run: /v1/setup, /v1/demo
)

api_router = APIRouter()
for _router in ROUTERS:
    api_router.include_router(_router)
