"""Jira responses -> the error tree.

Only Jira's documented error fields (``errorMessages`` and ``errors``) reach a caller, each
text clipped; a body without them (HTML, another JSON shape, a proxy's page, an internal
service reached by mistake) is never echoed and becomes "unexpected answer from the vendor
(HTTP n)".
"""

from __future__ import annotations

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
MAX_ITEMS = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def unexpected(status: int) -> str:
    return f"unexpected answer from the vendor (HTTP {status})"


def clip(text: str, limit: int = MAX_TEXT) -> str:
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def jira_messages(response: httpx.Response) -> tuple[list[str], dict[str, str]]:
    try:
        body: Any = response.json()
    except ValueError:
        return [], {}
    return documented(body)


def documented(body: Any) -> tuple[list[str], dict[str, str]]:
    """The texts of ``errorMessages`` and ``errors`` (string values only), clipped."""
    if not isinstance(body, dict):
        return [], {}
    raw_messages = body.get("errorMessages")
    messages = (
        [clip(m) for m in raw_messages[:MAX_ITEMS] if isinstance(m, str)]
        if isinstance(raw_messages, list)
        else []
    )
    raw = body.get("errors")
    if isinstance(raw, list):
        # The bulk APIs answer BulkOperationErrorResponse: {"errors": [{"message": ...}]}.
        for item in raw[:MAX_ITEMS]:
            text = item.get("message") if isinstance(item, dict) else item
            if isinstance(text, str):
                messages.append(clip(text))
        return messages, {}
    errors: dict[str, str] = {}
    if isinstance(raw, dict):
        for key, value in list(raw.items())[:MAX_ITEMS]:
            if isinstance(value, str):
                errors[clip(str(key), 100)] = clip(value)
    return messages, errors


def error_for_response(response: httpx.Response) -> VendorError:
    status = response.status_code
    messages, errors = jira_messages(response)
    documented = "; ".join(messages + [f"{k}: {v}" for k, v in errors.items()])
    summary = clip(documented) if documented else unexpected(status)
    if status == 401:
        return VendorAuthFailed(
            "Jira rejected the connection's credentials (HTTP 401); check the email and API "
            "token of this connection",
            vendor_status=status,
        )
    if status == 403:
        return VendorRejected(
            f"Jira refused the operation: {summary}",
            vendor_status=status,
            errors=errors,
            error_messages=messages,
        )
    if status == 404:
        return VendorNotFound(f"Jira: {summary}", vendor_status=status)
    if status == 429:
        wait = retry_after_seconds(response)
        return VendorRateLimited(
            "Jira is rate limiting this connection",
            retry_after=math.ceil(wait) if wait else 5,
        )
    if status >= 500:
        return VendorUnavailable(f"Jira is unavailable (HTTP {status})", vendor_status=status)
    if not 400 <= status < 500:
        # A redirect (never followed) or a success code the call did not expect.
        return VendorError(unexpected(status), vendor_status=status)
    return VendorRejected(
        f"Jira rejected the request: {summary}",
        vendor_status=status,
        errors=errors,
        error_messages=messages,
    )


def error_for_exhausted(exc: RetriesExhausted) -> VendorError:
    if exc.response is not None:
        return error_for_response(exc.response)
    if isinstance(exc.error, httpx.TimeoutException):
        return VendorTimeout("Jira did not answer in time")
    return VendorUnavailable(f"Jira could not be reached ({type(exc.error).__name__})")
