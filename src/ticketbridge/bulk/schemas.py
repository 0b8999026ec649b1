"""Bulk request and response bodies (compatible API; see docs/api.md)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field, model_validator

from ticketbridge.schema_rules import LenientBody
from ticketbridge.tickets.schemas import TicketUpdate

JOB_BULK_CREATE = "tickets.bulk_create"
JOB_BULK_UPDATE = "tickets.bulk_update"


class BulkCreateRequest(LenientBody):
    # Each item is a ``TicketCreate`` body, validated on its own so that one invalid item
    # fails alone (its error lands in its result) instead of failing the whole request.
    tickets: list[dict[str, Any]] = Field(
        min_length=1,
        description="TicketCreate bodies (1 to TICKETBRIDGE_BULK_MAX_TICKETS, default 50)",
    )


class BulkItemResult(BaseModel):
    success: bool
    request_index: int
    vendor_ticket_id: str | None = None  # the Jira issue key
    ticket_id: uuid.UUID | None = None  # null when vendor-id fields were used (not stored)
    identifier: str | None = None
    error: str | None = None


class BulkCreateResponse(BaseModel):
    total: int
    succeeded: int
    failed: int
    results: list[BulkItemResult]


class BulkUpdateRequest(LenientBody):
    ticket_ids: list[uuid.UUID] = Field(min_length=1)
    updates: TicketUpdate

    @model_validator(mode="after")
    def _changes_something(self) -> BulkUpdateRequest:
        if not self.updates.model_fields_set:
            raise ValueError("updates must change at least one field")
        return self


def summary(results: list[dict[str, Any]]) -> BulkCreateResponse:
    items = [BulkItemResult.model_validate(r) for r in results]
    succeeded = sum(1 for r in items if r.success)
    return BulkCreateResponse(
        total=len(items), succeeded=succeeded, failed=len(items) - succeeded, results=items
    )
