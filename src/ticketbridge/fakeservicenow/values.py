"""Value conversions shared by writes, queries and rendering."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
SYS_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_DATE_GENERATE = re.compile(
    r"""^javascript:\s*gs\.dateGenerate\(\s*(['"])(\d{4}-\d{2}-\d{2})"""
    r"""(?:[ T](\d{2}:\d{2}:\d{2}))?\1"""
    r"""\s*(?:,\s*(['"])([^'"]*)\4\s*)?\)\s*;?$"""
)


def format_time(epoch_s: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC: the raw form of every date-time field."""
    return dt.datetime.fromtimestamp(int(epoch_s), tz=dt.UTC).strftime(DATE_FORMAT)


def parse_time(text: str) -> float | None:
    try:
        stamp = dt.datetime.strptime(text, DATE_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return stamp.timestamp()


def as_text(value: Any) -> str:
    """A JSON input value as the string ServiceNow stores (numbers, booleans, references)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict):
        # A record read back and written again carries references as {link, value}.
        if "value" in value:
            return as_text(value["value"])
        return json.dumps(value)
    if isinstance(value, list):
        return ",".join(as_text(v) for v in value)
    return str(value)


def as_boolean(text: str) -> str:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return "true"
    if lowered in ("false", "0", "no", ""):
        return "false"
    return lowered


def query_date(text: str) -> str:
    """A date-time operand of a query: raw ``YYYY-MM-DD HH:MM:SS``, a bare date, or
    ``javascript:gs.dateGenerate('YYYY-MM-DD','HH:MM:SS')`` (``'start'``/``'end'`` stand for
    the day's first and last second) or ``javascript:gs.dateGenerate("YYYY-MM-DD HH:MM:SS")``,
    the two forms the client libraries send."""
    stripped = text.strip()
    found = _DATE_GENERATE.match(stripped)
    if found:
        day, inline_time, time_part = found.group(2), found.group(3), found.group(5)
        chosen = inline_time or time_part or "00:00:00"
        chosen = {"start": "00:00:00", "end": "23:59:59"}.get(chosen, chosen)
        return f"{day} {chosen}"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stripped):
        return f"{stripped} 00:00:00"
    return stripped


def to_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
