"""The one error body in the OpenAPI document.

FastAPI documents 422 as ``{"detail": [ValidationError]}``, which is not what this service
answers; clients generated from the document (and schema-driven tests) must see the real
body on every 4xx/5xx response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict


class ErrorItem(BaseModel):
    # Jira rejections add vendor_status, vendor_errors and vendor_error_messages.
    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    detail: str
    errors: list[ErrorItem]


def install_error_schema(app: FastAPI) -> None:
    default: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema and "ErrorBody" in app.openapi_schema["components"]["schemas"]:
            return app.openapi_schema
        schema = default()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["ErrorBody"] = body
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for code, response in operation.get("responses", {}).items():
                    if str(code)[:1] in ("4", "5"):
                        response["content"] = ref
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
