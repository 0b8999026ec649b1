"""Safe encoded-query building (``sysparm_query``): values never carry a condition of their own.

In an encoded query ``^`` separates conditions, and ServiceNow reads ``^^`` as a literal
caret; a line break ends nothing but has no business in a value either. Every value we put
in a query goes through :func:`value`.

Times are ServiceNow's ``YYYY-MM-DD HH:MM:SS`` in UTC: the integration user's time zone must be
UTC (GMT) for a raw value in a query to mean the same instant (docs/vendors/servicenow.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ticketbridge.errors import Unprocessable

SYNC_ORDER = "ORDERBYsys_updated_on^ORDERBYsys_id"
ID_ORDER = "ORDERBYsys_id"


def value(text: str) -> str:
    if any(ch in text for ch in "\r\n\x00"):
        raise Unprocessable("query values may not contain line breaks", field="query")
    return text.replace("^", "^^")


def one_of(field: str, values: Iterable[str]) -> str:
    """``fieldINa,b,c``: values may not hold a comma (ids and markers never do)."""
    items = [value(v) for v in values]
    if any("," in v for v in items):
        raise ValueError("IN values may not contain commas")
    return f"{field}IN{','.join(items)}"


def stamp(ms: int) -> str:
    """Epoch milliseconds -> ``YYYY-MM-DD HH:MM:SS`` (UTC), truncated to the second."""
    moment = datetime.fromtimestamp(max(0, ms) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def join(*conditions: str | None) -> str:
    return "^".join(c for c in conditions if c)


def after_key(base: str, updated_on: str, sys_id: str) -> str:
    """Rows strictly after ``(updated_on, sys_id)`` in (sys_updated_on, sys_id) order, within
    ``base``: ``base^sys_updated_on>T`` OR ``base^sys_updated_on=T^sys_id>ID`` (``^NQ`` starts
    the second block, so the base conditions are repeated there)."""
    first = join(base, f"sys_updated_on>{value(updated_on)}")
    second = join(base, f"sys_updated_on={value(updated_on)}", f"sys_id>{value(sys_id)}")
    return f"{first}^NQ{second}"
