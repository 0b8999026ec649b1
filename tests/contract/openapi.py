"""Validate JSON bodies against the carried slice of Atlassian's Jira Cloud OpenAPI document.

``validate_response(path_template, method, status, body)`` and
``validate_request(path_template, method, body)`` raise ``jsonschema.ValidationError`` (or
``AssertionError`` for an undocumented operation/status) and return the schema name used.

* Paths are the document's templates (``/rest/api/3/issue/{issueIdOrKey}``); a ``/rest/api/2``
  template is checked against its v3 twin (same shapes; v2 only differs inside free-form
  ``fields``).
* A response status the document declares with a JSON schema is validated against it; one
  declared without a schema, or not declared at all, must be an error (>= 400) and is
  validated against the operation's error envelope: ``BulkOperationErrorResponse`` for the
  ``/bulk`` operations (which document only that), ``ErrorCollection`` (how Jira answers
  errors) elsewhere. An undeclared 2xx is a failure. An empty schema (``{}``, e.g.
  ``PUT issue`` 204) accepts anything.
* OpenAPI 3.0's ``nullable: true`` is translated to JSON Schema (``type: [t, "null"]``);
  ``format`` is not asserted. Validation uses Draft 7 with ``components`` attached so
  ``#/components/schemas/...`` references resolve.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SLICE = Path(__file__).with_name("jira-openapi-slice.json")
_ERRORS = "#/components/schemas/ErrorCollection"


@functools.cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = _nullable(json.loads(SLICE.read_text(encoding="utf-8")))
    return loaded


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


def _operation(path_template: str, method: str) -> dict[str, Any]:
    path = path_template.replace("/rest/api/2/", "/rest/api/3/", 1)
    try:
        operation: dict[str, Any] = document()["paths"][path][method.lower()]
    except KeyError:
        raise AssertionError(f"{method} {path} is not in the OpenAPI slice") from None
    return operation


@functools.cache
def _validator(schema_json: str) -> Draft7Validator:
    schema = json.loads(schema_json)
    root = {"allOf": [schema], "components": document()["components"]}
    return Draft7Validator(root)


def _validate(schema: dict[str, Any], body: Any) -> None:
    _validator(json.dumps(schema, sort_keys=True)).validate(body)


def _name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref") or ""
    name = ref.rsplit("/", 1)[-1] or "inline schema"
    return f"array of {name}" if schema.get("type") == "array" else name


def _error_envelope(responses: dict[str, Any]) -> str:
    """The error schema of an operation: ``BulkOperationErrorResponse`` where every documented
    error of the operation uses it (the ``/bulk`` endpoints), ``ErrorCollection`` otherwise."""
    refs = {
        r.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
        for code, r in responses.items()
        if code.isdigit() and int(code) >= 400
    }
    bulk = "#/components/schemas/BulkOperationErrorResponse"
    return bulk if refs == {bulk} else _ERRORS


def validate_response(path_template: str, method: str, status: int, body: Any) -> str:
    """Validate one response body; returns the name of the schema it was checked against."""
    responses = _operation(path_template, method)["responses"]
    declared = responses.get(str(status))
    schema = None
    if declared is not None:
        schema = declared.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        if status < 400:
            if declared is not None and status == 204:
                return "no content"
            raise AssertionError(f"{method} {path_template} does not document status {status}")
        schema = {"$ref": _error_envelope(responses)}
    _validate(schema, body)
    return _name(schema) if schema else "any"


def validate_request(path_template: str, method: str, body: Any) -> str:
    """Validate a request body against the operation's ``requestBody`` schema."""
    operation = _operation(path_template, method)
    schema = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
    )
    if schema is None:
        raise AssertionError(f"{method} {path_template} takes no JSON request body")
    _validate(schema, body)
    return _name(schema)
