"""``POST /v1/itsm/tickets`` answered without FastAPI's routing and dependency solving.

A create solved seven dependencies per request (services, unit of work, runtime, API key,
connection, the idempotent-write bundle, the ``Idempotency-Key`` header) and validated its
answer once more against ``response_model``. The fast-reads middleware (``api/fast_reads.py``)
hands a create here; it is answered with the route's own work (``ticket_writes.create``), in
the route's unit of work (``deps.unit_of_work``), written as FastAPI writes the
``response_model`` (pydantic's ``dump_json``, by alias).

The body is still validated by pydantic, with the route's model: only a JSON object that
``TicketCreate`` accepts as it is, sent as ``application/json`` with at most one
``Idempotency-Key`` of the route's length, is taken. Anything else (invalid JSON or fields,
another content type, a header the route would refuse) goes to the route with the body it
sent replayed, so every error keeps the route's wording and order.
"""

from __future__ import annotations

import orjson
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from ticketbridge.api import ticket_writes
from ticketbridge.api.deps import IdempotentWrite, Services, unit_of_work
from ticketbridge.idempotency.service import HEADER
from ticketbridge.store.models import Connection
from ticketbridge.tickets.schemas import TicketCreate, TicketRead

PATH = "/v1/itsm/tickets"
_KEY_HEADER = HEADER.lower().encode("latin-1")
MAX_KEY_LENGTH = 255  # the route's IdempotencyKeyHeader


def route() -> APIRoute:
    for found in ticket_writes.router.routes:
        if isinstance(found, APIRoute) and found.path == PATH and "POST" in (found.methods or ()):
            return found
    raise LookupError(PATH)  # pragma: no cover - the route is defined in api/ticket_writes.py


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that hands it out again (for the route)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: let the route see it
            replay: list[Message] = [message]
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            replay = []
            break
    body = b"".join(chunks)
    replay.insert(0, {"type": "http.request", "body": body, "more_body": False})

    async def again() -> Message:
        return replay.pop(0) if replay else await receive()

    return body, again


def plain_create(scope: Scope, body: bytes) -> tuple[TicketCreate, str | None] | None:
    """(the validated body, the Idempotency-Key) of a create the route would accept as it
    is; None for anything else."""
    headers = Headers(scope=scope)
    if headers.get("content-type") != "application/json":
        return None
    keys = [v for k, v in scope["headers"] if k.lower() == _KEY_HEADER]
    if len(keys) > 1:
        return None
    key = keys[0].decode("latin-1") if keys else None
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        return None
    try:
        data = orjson.loads(body)  # what orjson refuses (NaN, huge ints) goes to the route
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return TicketCreate.model_validate(data), key
    except ValidationError:
        return None


async def answer(
    services: Services, conn: Connection, request: tuple[TicketCreate, str | None]
) -> Response:
    """The route's answer for the key's connection (errors are raised, as from the route)."""
    body, key = request
    async with unit_of_work(services) as session:
        # The connection was looked up within the key's account: it is the account's.
        write = IdempotentWrite(session, services.runtime, conn.account_id, conn, key)
        result = await ticket_writes.create(body, write)
    if isinstance(result, TicketRead):
        return Response(result.model_dump_json(by_alias=True), media_type="application/json")
    response: Response = result
    return response
