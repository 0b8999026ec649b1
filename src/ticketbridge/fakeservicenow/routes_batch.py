"""The Batch API: ``POST /api/now/v1/batch``.

Items run in order, each as the batch's authenticated user, through the same handlers as
single requests; an item's failure is its own ``status_code`` (and ``error_message``), never a
failed batch. Bodies are base64 both ways. An instance serves at most
``instance.batch_max_requests`` items per batch (the emulator's stand-in for ServiceNow's size
and 30-second limits); the ids of the rest come back in ``unserviced_requests``. Items are
subject to injected faults only when a fault names their route in ``routes``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import QueryParams

from .context import (
    Answer,
    Ctx,
    SnowRoute,
    error_answer,
    injected_after,
    internal_error,
    json_dumps,
    log,
    pre_apply_faults,
    route_key,
)
from .errors import SnowError
from .writes import READ_REQUEST


def _request_list(ctx: Ctx) -> tuple[str | None, list[Any]]:
    try:
        data = json.loads(ctx.body) if ctx.body.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise SnowError(400, READ_REQUEST, "The payload is not valid JSON.") from None
    if not isinstance(data, dict) or not isinstance(data.get("rest_requests"), list):
        raise SnowError(400, "Invalid batch request", "rest_requests is required")
    batch_id = data.get("batch_request_id")
    return (str(batch_id) if batch_id is not None else None), data["rest_requests"]


def batch(ctx: Ctx) -> Answer:
    batch_id, requests = _request_list(ctx)
    limit = ctx.instance.batch_max_requests
    serviced = []
    unserviced = []
    for index, item in enumerate(requests):
        item_id = str(item.get("id", "")) if isinstance(item, dict) else ""
        if index >= limit:
            unserviced.append(item_id)
            continue
        serviced.append(_serve(ctx, item_id, item))
    body: dict[str, Any] = {"serviced_requests": serviced, "unserviced_requests": unserviced}
    if batch_id is not None:
        body = {"batch_request_id": batch_id, **body}
    return Answer(200, body)


def _serve(ctx: Ctx, item_id: str, item: Any) -> dict[str, Any]:
    started = time.perf_counter()
    answer, error = _run(ctx, item)
    out: dict[str, Any] = {
        "id": item_id,
        "status_code": answer.status,
        "status_text": _status_text(answer.status),
    }
    if answer.body is not None:
        out["body"] = base64.b64encode(json_dumps(answer.body)).decode()
    exclude = isinstance(item, dict) and item.get("exclude_response_headers") is True
    headers = {"Content-Type": "application/json;charset=UTF-8", **answer.headers}
    out["headers"] = [] if exclude else [{"name": k, "value": v} for k, v in headers.items()]
    out["execution_time"] = int((time.perf_counter() - started) * 1000)
    if error:
        out["error_message"] = error
    return out


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _run(ctx: Ctx, item: Any) -> tuple[Answer, str | None]:
    dispatch = ctx.dispatch
    if not isinstance(item, dict) or dispatch is None:
        return _failed(400, "Invalid batch item"), "Invalid batch item"
    method = str(item.get("method", "")).upper()
    url = str(item.get("url", ""))
    parts = urlsplit(url)
    found = dispatch.match(method, parts.path)
    if found == "method":
        return _failed(405, "Method not Supported"), "Method not Supported"
    if not isinstance(found, tuple) or found[0].path.endswith("/batch"):
        return _failed(400, f"Requested URI does not represent any resource: {parts.path}"), (
            "Requested URI does not represent any resource"
        )
    route, version, template, params = found
    try:
        raw = item.get("body")
        body = base64.b64decode(raw, validate=False) if isinstance(raw, str) and raw else b""
    except (binascii.Error, ValueError):
        return _failed(400, "Invalid base64 body"), "Invalid base64 body"
    key = route_key(method, template, params, True)
    instance = ctx.instance
    try:
        pre_apply_faults(instance.faults, key)
        sub = Ctx(
            instance,
            ctx.user,
            method,
            parts.path,
            params,
            QueryParams(parts.query),
            body,
            ctx.base,
            version,
            dispatch,
            in_batch=True,
        )
        answer = route.handler(sub)
        if answer.status < 400:
            fault = instance.faults.ambiguous(key)
            if fault is not None:
                answer = injected_after(fault.status)
    except SnowError as exc:
        answer = error_answer(exc)
    except Exception:
        log.exception("fakeservicenow: unhandled error in batch item %s %s", method, url)
        answer = internal_error()
    instance.stats.record(key.stat, answer.status)
    error = answer.body.get("error", {}).get("message") if _is_error(answer) else None
    return answer, error


def _is_error(answer: Answer) -> bool:
    return answer.status >= 400 and isinstance(answer.body, dict) and "error" in answer.body


def _failed(status: int, message: str) -> Answer:
    return Answer(status, {"error": {"message": message, "detail": None}, "status": "failure"})


ROUTES = (SnowRoute(("POST",), "/api/now{version}/batch", batch, versions=("v1",)),)
