"""Passthrough response shapes (see docs/api-passthrough.md).

The models document the answers (OpenAPI); the routes build the same JSON with the plain
functions below (``*_json``), without a model per vendor object: the answers are mostly the
vendor's own objects, passed through.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from ticketbridge.connectors import LiveProject, LiveRecord
from ticketbridge.tickets.schemas import NormalizedTicket


class VendorRecord(BaseModel):
    """A vendor object in the vendor's own shape (every field Jira sent, under Jira's name)
    plus the documented helper ``vendor_id``."""

    model_config = ConfigDict(extra="allow")

    vendor_id: str

    @classmethod
    def of(cls, record: LiveRecord) -> Self:
        # Our helper wins over a same-named vendor field (Jira has none today).
        return cls.model_validate({**record.data, "vendor_id": record.vendor_id})


class IssueTypeItem(VendorRecord):
    """Jira's issue type (``id``, ``name``, ``description``, ``subtask``, ``iconUrl``,
    ``self``, ``hierarchyLevel``, ...) plus ``vendor_id``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "vendor_id": "10004",
                "self": "https://acme.atlassian.net/rest/api/3/issuetype/10004",
                "id": "10004",
                "name": "Bug",
                "description": "A problem or error.",
                "subtask": False,
            }
        },
    )

    vendor_id: str = Field(description="Jira's issue type id; usable as type_vendor_id")


class UserItem(VendorRecord):
    """Jira's user (``accountId``, ``displayName``, ``emailAddress`` when the user's privacy
    settings show it, ``active``, ``accountType``, ...) plus ``vendor_id``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "vendor_id": "5b10ac8d82e05b22cc7d4ef5",
                "accountId": "5b10ac8d82e05b22cc7d4ef5",
                "accountType": "atlassian",
                "displayName": "Kim Lee",
                "emailAddress": "kim@example.com",
                "active": True,
            }
        },
    )

    vendor_id: str = Field(description="Jira's accountId; usable as assigned_user_vendor_id")


class ProjectItem(BaseModel):
    """Jira's project (``id``, ``key``, ``name``, ``projectTypeKey``, ``style``, ``self``,
    ...) plus the helpers ``vendor_id``, ``project_type`` and ``issue_types``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "vendor_id": "OPS",
                "project_type": "software",
                "issue_types": None,
                "self": "https://acme.atlassian.net/rest/api/3/project/10001",
                "id": "10001",
                "key": "OPS",
                "name": "Operations",
                "projectTypeKey": "software",
            }
        },
    )

    vendor_id: str = Field(description="The project key; usable as project_vendor_id")
    project_type: str | None = Field(description="Jira's projectTypeKey")
    issue_types: list[IssueTypeItem] | None = Field(
        default=None,
        description="Jira's issueTypes as issue type items; only with expand_issue_types=true",
    )

    @classmethod
    def of(cls, p: LiveProject) -> ProjectItem:
        types = None
        if p.issue_types is not None:
            types = [IssueTypeItem.of(t) for t in p.issue_types]
        helpers = {"vendor_id": p.vendor_id, "project_type": p.project_type, "issue_types": types}
        return cls.model_validate({**p.data, **helpers})


class TicketItem(BaseModel):
    """Jira's issue as its search returns it: ``id``, ``key``, ``self``, ``expand`` and
    ``fields`` (only the requested ones, untouched: ADF description, user objects...)."""

    model_config = ConfigDict(extra="allow")

    id: str
    key: str
    fields: dict[str, Any]
    normalized: NormalizedTicket | None = Field(
        default=None, description="Only with normalized=true (absent otherwise)"
    )


class SearchPage(BaseModel):
    items: list[TicketItem]
    next_cursor: str | None = Field(
        description="Pass as cursor (with the same jql, fields and limit) for the next page; "
        "null on the last page"
    )


def record_json(record: LiveRecord) -> dict[str, Any]:
    """``VendorRecord.of(record)``'s JSON: the helper first, then the vendor's fields (ours
    wins over a same-named vendor field)."""
    return {"vendor_id": record.vendor_id, **_without(record.data, ("vendor_id",))}


def project_json(p: LiveProject) -> dict[str, Any]:
    """``ProjectItem.of(p)``'s JSON."""
    types = None if p.issue_types is None else [record_json(t) for t in p.issue_types]
    helpers = {"vendor_id": p.vendor_id, "project_type": p.project_type, "issue_types": types}
    return {**helpers, **_without(p.data, helpers)}


def ticket_json(vendor: dict[str, Any], normalized: dict[str, Any] | None) -> dict[str, Any]:
    """``TicketItem``'s JSON (``normalized`` only when asked for). Raises ValueError when the
    vendor's issue lacks a string id or key, or its fields are not an object."""
    issue_id, key, fields = vendor.get("id"), vendor.get("key"), vendor.get("fields")
    if not isinstance(issue_id, str) or not isinstance(key, str) or not isinstance(fields, dict):
        raise ValueError("not an issue")
    out: dict[str, Any] = {"id": issue_id, "key": key, "fields": fields}
    if normalized is not None:
        out["normalized"] = normalized
    out.update(_without(vendor, ("id", "key", "fields", "normalized")))
    return out


def _without(data: dict[str, Any], names: Any) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in names}
