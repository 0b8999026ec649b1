"""The one error tree of ticketbridge.

Every error a caller can see is a :class:`TicketbridgeError`; one handler renders it as
``{"detail": "<sentence>", "errors": [{loc, msg, type, ...}]}`` (:meth:`body`) with its
``status_code``. ``detail`` is always a string, so clients can print it as the message::

    TicketbridgeError (500)
    ├── NotFound (404)                 unknown id, or an id the caller may not see
    ├── Unauthorized (401)             missing or unknown API key
    ├── Conflict (409)                 duplicate identifier, unreachable status, ...
    ├── Unprocessable (422)            invalid input; ``field`` names the offending field
    ├── RateLimited (429)              ``retry_after`` seconds become a Retry-After header
    ├── CredentialsUnreadable (503)    stored credentials do not decrypt with the secret key
    ├── ServiceUnavailable (503)       our database is unreachable or busy; Retry-After
    └── VendorError (502)              the vendor misbehaved
        ├── VendorRejected (422)       the vendor refused the input; its messages verbatim
        ├── VendorNotFound (404)       the vendor says the object does not exist
        ├── VendorAuthFailed (502)     the connection's credentials were refused
        ├── VendorRateLimited (429)    the vendor kept answering 429 past our retry budget
        ├── VendorUnavailable (503)    5xx from the vendor after retries
        └── VendorTimeout (504)        no answer in time after retries
"""

from __future__ import annotations

from typing import Any


class TicketbridgeError(Exception):
    status_code = 500

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        # ``detail`` may carry structure for the body's ``errors`` (a list of {loc, msg, type}
        # items, or a dict of extras); the rendered ``detail`` is always a sentence.
        self.detail = detail if detail is not None else message

    def headers(self) -> dict[str, str]:
        return {}

    def error_items(self) -> list[dict[str, Any]]:
        """The structured items of the body; ``detail`` lists of items are kept for callers
        that still build them."""
        if isinstance(self.detail, list):
            return [dict(item) for item in self.detail if isinstance(item, dict)]
        if isinstance(self.detail, dict):  # structured extras ride on one item
            return [{"loc": [], "msg": self.message, "type": "error", **self.detail}]
        return []

    def body(self) -> dict[str, Any]:
        items = self.error_items()
        return {"detail": error_sentence(items) if items else self.message, "errors": items}


def error_sentence(items: list[dict[str, Any]]) -> str:
    """``body.name: field required; query.offset: ...``: every field named, no input echoed."""
    parts = []
    for item in items:
        path = [str(p) for p in item.get("loc", ())]
        msg = str(item.get("msg", ""))
        # Some messages name their field themselves (they also serve as bulk item errors):
        # the location already says it, so the sentence names it once.
        if path and msg.startswith(f"{path[-1]}: "):
            msg = msg[len(path[-1]) + 2 :]
        parts.append(f"{'.'.join(path)}: {msg}" if path else msg)
    return "; ".join(parts)


def error_body(detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}


class NotFound(TicketbridgeError):
    status_code = 404


class Unauthorized(TicketbridgeError):
    status_code = 401


class Forbidden(TicketbridgeError):
    status_code = 403


class Conflict(TicketbridgeError):
    status_code = 409


class Unprocessable(TicketbridgeError):
    status_code = 422

    def __init__(
        self,
        message: str,
        *,
        field: str | tuple[str, ...] | None = None,
        location: str = "body",
    ) -> None:
        loc: list[str] = [location]
        if isinstance(field, str):
            loc.append(field)
        elif field:
            loc.extend(field)
        detail = [{"loc": loc, "msg": message, "type": "value_error"}] if field else message
        super().__init__(message, detail=detail)
        self.field = field


class RateLimited(TicketbridgeError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class CredentialsUnreadable(TicketbridgeError):
    """The configured secret key does not decrypt a connection's credentials (wrong key)."""

    status_code = 503


class ServiceUnavailable(TicketbridgeError):
    status_code = 503

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class VendorError(TicketbridgeError):
    status_code = 502

    def __init__(self, message: str, *, vendor_status: int | None = None, detail: Any = None):
        super().__init__(message, detail=detail)
        self.vendor_status = vendor_status


class VendorRejected(VendorError):
    status_code = 422

    def __init__(
        self,
        message: str,
        *,
        vendor_status: int | None = None,
        errors: dict[str, str] | None = None,
        error_messages: list[str] | None = None,
    ) -> None:
        self.errors = errors or {}
        self.error_messages = error_messages or []
        super().__init__(message, vendor_status=vendor_status)

    def error_items(self) -> list[dict[str, Any]]:
        return [
            {
                "loc": ["vendor"],
                "msg": self.message,
                "type": "vendor_rejected",
                "vendor_status": self.vendor_status,
                "vendor_errors": self.errors,
                "vendor_error_messages": self.error_messages,
            }
        ]

    def body(self) -> dict[str, Any]:
        # The message already names Jira's fields ("Jira rejected the request: assignee: ...").
        return {"detail": self.message, "errors": self.error_items()}


class VendorNotFound(VendorError):
    status_code = 404


class VendorAuthFailed(VendorError):
    status_code = 502


class VendorRateLimited(VendorError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, vendor_status=429)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class VendorUnavailable(VendorError):
    status_code = 503


class VendorTimeout(VendorError):
    status_code = 504
