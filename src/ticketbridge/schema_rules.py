"""Rules shared by the request schemas: safe text, vendor ids, unknown fields.

- **Text** that ends up in Jira, in logs or in someone's terminal (names, identifiers, tags)
  may not hold control characters or the bidirectional overrides that make text display
  differently from what it is (U+202A-U+202E, U+2066-U+2069, "Trojan Source"). Multi-line
  text (descriptions) may hold tabs and line breaks.
- **Vendor ids** are accepted as strings or as non-negative integers (Jira documents its ids
  as numbers in places, and clients send them so); an integer becomes its decimal string.
  Booleans, fractions and negative numbers are refused. The id must then match the vendor's
  grammar (``connectors.check_id``: each vendor registers its own, Jira's is
  ``connectors/jira/id_grammar.py``).
- **Unknown body fields** are ignored, so that a client written for a richer version of the
  compatible API keeps working; their names (never their values) are logged at debug.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from ticketbridge.connectors import check_id
from ticketbridge.logging import get_logger

log = get_logger(__name__)

# C0 controls, DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # \t \n \r allowed
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
MAX_LOGGED_NAMES = 20


def _refuse(pattern: re.Pattern[str], kind: str, message: str, value: str) -> None:
    found = pattern.search(value)
    if found:
        at = found.start()
        raise PydanticCustomError(kind, f"{message} (U+{ord(found.group()):04X} at {at})")


def safe_line(value: str) -> str:
    _refuse(_CONTROL, "control_character", "must not contain control characters", value)
    _refuse(_BIDI, "bidi_override", "must not contain bidirectional override characters", value)
    return value


def safe_text(value: str) -> str:
    _refuse(
        _CONTROL_IN_TEXT,
        "control_character",
        "must not contain control characters other than tab and line breaks",
        value,
    )
    return value


SafeLine = Annotated[str, AfterValidator(safe_line)]
SafeText = Annotated[str, AfterValidator(safe_text)]


def _vendor_number(value: Any) -> Any:
    # bool is an int in Python: check it first.
    if isinstance(value, bool):
        raise PydanticCustomError("vendor_id_type", "must be a string or an integer, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise PydanticCustomError("vendor_id_type", "must not be negative")
        return str(value)
    if isinstance(value, float):
        raise PydanticCustomError("vendor_id_type", "must be a string or an integer")
    return value


def _grammar(kind: str, value: str) -> str:
    try:
        return check_id(kind, value)
    except ValueError as exc:
        raise PydanticCustomError("vendor_id_format", str(exc)) from None


_NUMBER_OK = BeforeValidator(_vendor_number)
ProjectVendorId = Annotated[str, _NUMBER_OK, AfterValidator(partial(_grammar, "project"))]
IssueTypeVendorId = Annotated[str, _NUMBER_OK, AfterValidator(partial(_grammar, "issue_type"))]
IssueVendorId = Annotated[str, _NUMBER_OK, AfterValidator(partial(_grammar, "issue"))]
AccountVendorId = Annotated[str, _NUMBER_OK, AfterValidator(partial(_grammar, "account"))]


def _printable_name(name: Any) -> str:
    return _CONTROL.sub("?", str(name)[:64])


def nul_path(value: Any, path: str = "") -> str | None:
    """Where a NUL character sits in a JSON value (keys included), or None.

    Neither PostgreSQL text/JSONB nor Jira can hold U+0000, so it is refused at the edge of
    every lenient body instead of failing later, half-way, when a job payload is stored.
    """
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return path or "body"
            found = nul_path(item, f"{path}.{_printable_name(key)}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = nul_path(item, f"{path}[{i}]")
            if found:
                return found
    return None


class LenientBody(BaseModel):
    """A request body of the compatible API: unknown fields are dropped, not refused."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        where = nul_path(data)
        if where:
            raise ValueError(f"NUL characters (U+0000) are not accepted ({where})")
        return data

    @model_validator(mode="before")
    @classmethod
    def _log_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                log.debug(
                    "unknown_body_fields_ignored",
                    schema=cls.__name__,
                    fields=[_printable_name(k) for k in unknown[:MAX_LOGGED_NAMES]],
                    count=len(unknown),
                )
        return data
