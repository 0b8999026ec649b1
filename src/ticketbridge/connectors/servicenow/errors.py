"""ServiceNow responses -> the error tree.

ServiceNow documents one error body, ``{"error": {"message", "detail"}, "status":
"failure"}``; only its two texts reach a caller, clipped. Any other body (an HTML login page,
a proxy's page) is never echoed: "unexpected answer from the vendor (HTTP n)".
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import httpx

from ticketbridge.connectors.http import RetriesExhausted, retry_after_seconds
from ticketbridge.errors import (
    VendorAuthFailed,
    VendorError,
    VendorNotFound,
    VendorRateLimited,
    VendorRejected,
    VendorTimeout,
    VendorUnavailable,
)

MAX_TEXT = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def clip(text: str, limit: int = MAX_TEXT) -> str:
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unexpected(status: int) -> str:
    return f"unexpected answer from the vendor (HTTP {status})"


def documented(body: Any) -> list[str]:
    """The ``error.message`` and ``error.detail`` texts of a ServiceNow error body."""
    if not isinstance(body, dict):
        return []
    error = body.get("error")
    if not isinstance(error, dict):
        return []
    texts = [error.get("message"), error.get("detail")]
    return [clip(t) for t in texts if isinstance(t, str) and t.strip()]


def messages_of(content: bytes) -> list[str]:
    try:
        return documented(json.loads(content))
    except ValueError:
        return []


def error_for_status(status: int, messages: list[str], retry_after: float | None) -> VendorError:
    """One answer (a response, or one item of a batch) as an error."""
    summary = "; ".join(dict.fromkeys(messages)) or unexpected(status)
    if status == 401:
        return VendorAuthFailed(
            "ServiceNow rejected the connection's credentials (HTTP 401); check the instance, "
            "username and password (or OAuth client) of this connection",
            vendor_status=status,
        )
    if status == 403:
        return VendorRejected(
            f"ServiceNow refused the operation: {summary}",
            vendor_status=status,
            error_messages=messages,
        )
    if status == 404:
        return VendorNotFound(f"ServiceNow: {summary}", vendor_status=status)
    if status == 429:
        return VendorRateLimited(
            "ServiceNow is rate limiting this connection",
            retry_after=math.ceil(retry_after) if retry_after else 5,
        )
    if status >= 500:
        return VendorUnavailable(f"ServiceNow is unavailable (HTTP {status})", vendor_status=status)
    if not 400 <= status < 500:
        return VendorError(unexpected(status), vendor_status=status)
    return VendorRejected(
        f"ServiceNow rejected the request: {summary}",
        vendor_status=status,
        error_messages=messages,
    )


def error_for_response(response: httpx.Response) -> VendorError:
    return error_for_status(
        response.status_code, messages_of(response.content), retry_after_seconds(response)
    )


def error_for_exhausted(exc: RetriesExhausted) -> VendorError:
    if exc.response is not None:
        return error_for_response(exc.response)
    if isinstance(exc.error, httpx.TimeoutException):
        return VendorTimeout("ServiceNow did not answer in time")
    return VendorUnavailable(f"ServiceNow could not be reached ({type(exc.error).__name__})")
