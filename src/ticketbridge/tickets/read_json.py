"""``TicketRead`` JSON straight from stored rows, without a pydantic model per ticket.

A page of 50 tickets spent about half of its CPU validating each row into a ``TicketRead``
(and its ``VendorAttributes``) only to dump it again. The row's columns already have the
declared types (UUIDs, UTC datetimes, dates, booleans, strings); only the two JSON columns
(``tags``, ``vendor_attributes``) are checked here, and ``vendor_attributes`` is shaped as
validation would shape it: its fields in the model's order with their defaults, unknown keys
dropped, ``created_at``/``updated_at`` parsed. orjson then writes the same bytes pydantic
would (UUIDs, ``Z`` for UTC, six-digit microseconds when there are any).

Whatever is not plainly valid (a value of another type, a time string that is not
``isoformat`` output, a number orjson cannot write) makes :func:`tickets_json` hand the
rows to pydantic, which answers as before, or fails as before. tests/tickets/test_read_json.py
compares both on generated rows.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from ticketbridge.tickets.schemas import TicketRead, VendorAttributes, VendorData

_OPTIONS = orjson.OPT_UTC_Z
_NAMES = tuple(TicketRead.model_fields)
# What ``datetime.isoformat`` writes for the stored times (naive or UTC).
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?(\+00:00)?\Z")
_VA_TIMES = ("created_at", "updated_at")


class _NotPlain(Exception):
    pass


def tickets_json(rows: list[dict[str, Any]], **page: Any) -> bytes:
    """``{"items": [<TicketRead>...], **page}`` as FastAPI would write the page model
    (``page`` in the model's field order: ``next_cursor``/``previous_cursor`` or
    ``total``/``limit``/``offset``)."""
    try:
        return orjson.dumps({"items": [_plain(row) for row in rows], **page}, option=_OPTIONS)
    except (_NotPlain, orjson.JSONEncodeError):
        items = b",".join(
            t.model_dump_json(by_alias=True).encode() for t in TicketRead.from_rows(rows)
        )
        rest = orjson.dumps(page, option=_OPTIONS)  # ints, strings and nulls
        return b'{"items":[' + items + b"]" + (b"," + rest[1:] if page else b"}")


def ticket_json(row: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(_plain(row), option=_OPTIONS)
    except (_NotPlain, orjson.JSONEncodeError):
        return TicketRead.from_row(row).model_dump_json(by_alias=True).encode()


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    out = {name: row[name] for name in _NAMES}
    tags = out["tags"]
    if type(tags) is not list or any(type(t) is not str for t in tags):
        raise _NotPlain
    out["vendor_attributes"] = _vendor_attributes(out["vendor_attributes"])
    return out


def _vendor_attributes(raw: Any) -> dict[str, Any]:
    if type(raw) is not dict:
        raise _NotPlain
    out: dict[str, Any] = {}
    for name in VendorAttributes.model_fields:
        if name == "data":
            out[name] = _vendor_data(raw.get(name, {}))
        elif name == "vendor":
            out[name] = _text(raw.get(name, "JIRA"))
        elif name in _VA_TIMES:
            out[name] = _time(raw.get(name))
        else:
            out[name] = _optional_text(raw.get(name))
    return out


def _vendor_data(raw: Any) -> dict[str, Any]:
    if type(raw) is not dict:
        raise _NotPlain
    out: dict[str, Any] = {}
    for name in VendorData.model_fields:
        if name == "vendor":
            out[name] = _text(raw.get(name, "JIRA"))
        elif name == "customFields":
            fields = raw.get(name, {})
            if type(fields) is not dict:
                raise _NotPlain
            out[name] = fields
        else:
            out[name] = _optional_text(raw.get(name))
    return out


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _NotPlain
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if type(value) is not str or not _ISO.match(value):
        raise _NotPlain
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # a day or hour out of range
        raise _NotPlain from None
