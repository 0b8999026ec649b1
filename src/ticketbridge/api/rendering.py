"""Answers dumped by pydantic in one call, past FastAPI's response handling.

FastAPI validates a handler's return value against ``response_model`` once more before it
dumps it; for a model the handler has just validated, that repeats the work for every field
(a 50-ticket page: about a third of its CPU). Routes that use :func:`model_json` keep their
``response_model`` (the OpenAPI document says the same) and return the bytes FastAPI would
have written: ``by_alias=True``, nothing excluded.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response


def model_json(model: BaseModel, status_code: int = 200) -> Response:
    return Response(
        model.model_dump_json(by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )


def json_response(body: bytes, status_code: int = 200) -> Response:
    """Bytes already written as FastAPI would write the route's ``response_model``."""
    return Response(body, status_code=status_code, media_type="application/json")
