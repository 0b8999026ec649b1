"""Field paths: a column of a table, or a dot-walk through references
(``assigned_to.user_name``, ``parent_incident.number``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .query import Resolver
from .schema import REFERENCE, TASK_COLUMNS, Column, Table

if TYPE_CHECKING:
    from .state import Instance

_TASK = {c.name: c for c in TASK_COLUMNS}


def _columns(instance: Instance, table: str) -> dict[str, Column]:
    if table == "task":
        return _TASK
    definition = instance.tables.get(table)
    return definition.columns if definition else {}


def column_at(instance: Instance, table: str, path: str) -> Column | None:
    """The column a field path ends on, or ``None`` if the path names no field."""
    parts = path.split(".")
    current = table
    for n, part in enumerate(parts):
        column = _columns(instance, current).get(part)
        if column is None:
            return None
        if n == len(parts) - 1:
            return column
        if column.kind != REFERENCE or column.reference is None:
            return None
        current = column.reference
    return None


def resolver(instance: Instance, table: Table | str) -> Resolver:
    name = table if isinstance(table, str) else table.name

    def resolve(record: dict[str, str], path: str) -> tuple[str, Column | None]:
        if "." not in path:
            return record.get(path, ""), _columns(instance, name).get(path)
        current_table, current = name, record
        parts = path.split(".")
        for n, part in enumerate(parts):
            column = _columns(instance, current_table).get(part)
            value = current.get(part, "")
            if n == len(parts) - 1:
                return value, column
            if column is None or column.reference is None or not value:
                return "", None
            referenced = instance.get(column.reference, value)
            if referenced is None:
                return "", None
            current_table, current = column.reference, referenced
        return "", None

    return resolve
