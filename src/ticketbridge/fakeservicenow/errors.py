"""ServiceNow's error envelope: ``{"error": {"message", "detail"}, "status": "failure"}``.

Message texts are the ones ServiceNow instances are known to answer (``No Record found``,
``User Not Authenticated``, ``Invalid table <name>``, data policy and ACL exceptions); where the
exact text is not known the emulator writes a plain English sentence of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NO_RECORD = "No Record found"
NO_RECORD_DETAIL = "Record doesn't exist or ACL restricts the record retrieval"
NOT_AUTHENTICATED = "User Not Authenticated"
BAD_CREDENTIALS = "User is not authenticated"
AUTH_DETAIL = "Required to provide Auth information"
OPERATION_FAILED = "Operation Failed"
RATE_LIMITED = "Rate limit exceeded"


class SnowError(Exception):
    """A request ServiceNow refuses. Raised anywhere below a route, rendered by the pipeline."""

    def __init__(
        self,
        status: int,
        message: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{status}: {message} ({detail})")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "detail": self.detail}, "status": "failure"}


def no_record() -> SnowError:
    return SnowError(404, NO_RECORD, NO_RECORD_DETAIL)


def invalid_table(name: str) -> SnowError:
    return SnowError(400, f"Invalid table {name}", None)


def acl_denied(operation: str) -> SnowError:
    return SnowError(
        403, OPERATION_FAILED, f"ACL Exception {operation} Failed due to security constraints"
    )


def bad_request(message: str, detail: str | None = None) -> SnowError:
    return SnowError(400, message, detail)


def data_policy(missing_labels: list[str]) -> SnowError:
    """What a mandatory-field data policy answers through the Table API."""
    fields = ", ".join(missing_labels)
    return SnowError(
        403,
        OPERATION_FAILED,
        f"Data Policy Exception: \n\tThe following fields are mandatory: {fields}\n",
    )
