"""Turning a Table API request body into the column values to store.

Unknown columns are ignored, as ServiceNow ignores them; ``u_*`` columns are created on first
write. System columns (``sys_*``) are not writable, except ``sys_id`` on insert. With
``sysparm_input_display_value=true`` choice labels become values and references may be given by
display value (a user's name, a group's name, a task's number).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .errors import SnowError
from .schema import BOOLEAN, CHOICE, JOURNAL, REFERENCE, Table
from .values import SYS_ID_RE, as_boolean, as_text

if TYPE_CHECKING:
    from .state import Instance

READ_REQUEST = "Exception while reading request"


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a write; ServiceNow's 400s for anything else."""
    if not raw.strip():
        raise SnowError(400, READ_REQUEST, "No request body provided")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise SnowError(400, READ_REQUEST, "The payload is not valid JSON.") from None
    if not isinstance(data, dict):
        raise SnowError(400, READ_REQUEST, "The payload must be a JSON object.")
    return data


def column_values(
    instance: Instance,
    table: Table,
    body: dict[str, Any],
    *,
    input_display: bool,
    insert: bool,
) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, raw in body.items():
        if not isinstance(name, str):
            continue
        if name == "sys_id":
            text = as_text(raw)
            if insert and SYS_ID_RE.match(text):
                values["sys_id"] = text
            continue
        if name.startswith("sys_"):
            continue
        column = table.column(name)
        if column is None:
            if not name.startswith("u_"):
                continue
            column = table.add_custom(name)
        text = as_text(raw)
        if column.kind == BOOLEAN:
            text = as_boolean(text)
        elif column.kind == JOURNAL:
            continue  # journal entries are not kept; the field always reads back empty
        elif column.kind == CHOICE and input_display:
            text = instance.choice_value(table.name, name, text)
        elif column.kind == REFERENCE and text and column.reference:
            if input_display or not SYS_ID_RE.match(text):
                text = instance.reference_by_display(column.reference, text) or text
        values[name] = text
    return values
