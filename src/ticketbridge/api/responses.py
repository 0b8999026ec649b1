"""Error responses every ``/v1`` route can give, declared in the OpenAPI document.

They come from shared dependencies (the API key, the connection header, body parsing), not
from the handlers, so they are added to the generated document once instead of in every
router. An operation's own ``responses=`` entry for the same status wins (it is more
specific). The ``ErrorBody`` schema itself comes from :mod:`ticketbridge.api.error_schema`,
which must wrap the document first.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _REF}}}


def _common(path: str, op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    params = {p.get("name") for p in op.get("parameters", [])}
    by_id = any(p.get("in") == "path" for p in op.get("parameters", []))
    declared = {"401": _error("Missing or unknown X-API-KEY")}
    if "requestBody" in op:
        declared["400"] = _error("The body is not valid JSON or not UTF-8")
    if by_id or "X-CONNECTION-ID" in params:
        declared["404"] = _error("Unknown id or connection, or one of another account")
    if "X-CONNECTION-ID" in params and not path.startswith("/v1/jobs"):
        declared["409"] = _error("The connection is disabled (is_active=false)")
    return declared


def add_common_errors(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error responses to every ``/v1`` operation of ``doc`` (in place)."""
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for op in item.values():
            responses = op.setdefault("responses", {})
            for status, spec in _common(path, op).items():
                responses.setdefault(status, spec)
    return doc


def document_common_errors(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        return add_common_errors(build())

    app.openapi = openapi  # type: ignore[method-assign]
