"""Jira's error envelopes.

Almost every Jira REST error is an ``ErrorCollection``: ``{"errorMessages": [...], "errors":
{field: message}}``. The bulk-operation endpoints (``/bulk/...``) document a different one,
``BulkOperationErrorResponse``: ``{"errors": [{"message": ...}]}``; the route decides which
envelope a :class:`JiraError` is rendered in.

Message texts follow what Jira Cloud is known to answer where that is documented or widely
reported (e.g. ``"You must specify a summary of the issue."``); where real Jira localises or the
text is not known exactly, the emulator uses a plain English sentence of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)
BODY_EMPTY = "No content to map to Object due to end of input"
BODY_UNPARSEABLE = "There was an error parsing JSON. Check that your request body is valid."
BODY_NOT_AN_OBJECT = "Invalid request payload. Refer to the REST API documentation and try again."
UNBOUNDED_JQL = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
BAD_PAGE_TOKEN = "The provided nextPageToken is invalid or has expired."


def cannot_set(field: str) -> str:
    return f"Field '{field}' cannot be set. It is not on the appropriate screen, or unknown."


class JiraError(Exception):
    """A request Jira refuses. Raised anywhere below a route, rendered by the route wrapper."""

    def __init__(
        self,
        status: int,
        messages: list[str] | str | None = None,
        errors: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(messages, str):
            messages = [messages]
        self.status = status
        self.messages: list[str] = list(messages or [])
        self.errors: dict[str, str] = dict(errors or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{status}: {self.messages} {self.errors}")

    def collection(self) -> dict[str, Any]:
        """The ``ErrorCollection`` body."""
        return {"errorMessages": list(self.messages), "errors": dict(self.errors)}

    def bulk_body(self) -> dict[str, Any]:
        """The ``BulkOperationErrorResponse`` body used by ``/bulk/...`` routes."""
        texts = list(self.messages) + [f"{k}: {v}" for k, v in self.errors.items()]
        return {"errors": [{"message": t} for t in texts]}


def not_found(message: str = ISSUE_NOT_FOUND) -> JiraError:
    return JiraError(404, message)


def bad_request(message: str | None = None, **errors: str) -> JiraError:
    return JiraError(400, message, errors)
