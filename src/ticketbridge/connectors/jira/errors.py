"""Jira responses -> the error tree. Jira's own messages are kept verbatim."""

from __future__ import annotations

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


def jira_messages(response: httpx.Response) -> tuple[list[str], dict[str, str]]:
    try:
        body = response.json()
    except ValueError:
        return ([response.text[:500]] if response.text else []), {}
    if not isinstance(body, dict):
        return [], {}
    messages = [str(m) for m in body.get("errorMessages") or []]
    raw = body.get("errors") or {}
    if isinstance(raw, list):
        # The bulk APIs answer BulkOperationErrorResponse: {"errors": [{"message": ...}]}.
        messages += [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in raw]
        return messages, {}
    errors = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return messages, errors


def error_for_response(response: httpx.Response) -> VendorError:
    status = response.status_code
    messages, errors = jira_messages(response)
    summary = "; ".join(messages + [f"{k}: {v}" for k, v in errors.items()]) or f"HTTP {status}"
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
            "Jira is rate limiting this connection", retry_after=int(wait) if wait else 5
        )
    if status >= 500:
        return VendorUnavailable(f"Jira is unavailable (HTTP {status})", vendor_status=status)
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
