"""Records as the Table API returns them.

``sysparm_display_value``: ``false`` raw values, ``true`` display values (choice labels,
referenced records' display fields), ``all`` ``{"display_value", "value"}`` per field.
Reference fields carry ``link`` (``<base>/api/now/table/<table>/<sys_id>``) unless
``sysparm_exclude_reference_link=true``; an empty reference is ``""``. Password columns are
never returned. ``sysparm_fields`` selects (and orders) fields; unknown names are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .fields import column_at
from .schema import CHOICE, PASSWORD, REFERENCE, TASK_COLUMNS, Column

if TYPE_CHECKING:
    from .state import Instance

_TASK = {c.name: c for c in TASK_COLUMNS}


@dataclass(frozen=True)
class RenderOptions:
    base: str
    fields: tuple[str, ...] | None = None
    display: str = "false"  # "false" | "true" | "all"
    exclude_links: bool = False

    @classmethod
    def from_params(cls, base: str, params: Any) -> RenderOptions:
        raw_fields = params.get("sysparm_fields")
        fields = (
            tuple(f.strip() for f in raw_fields.split(",") if f.strip()) if raw_fields else None
        )
        display = (params.get("sysparm_display_value") or "false").strip().lower()
        if display not in ("true", "all"):
            display = "false"
        exclude = (params.get("sysparm_exclude_reference_link") or "").strip().lower() == "true"
        return cls(base, fields or None, display, exclude)


def _walk(
    instance: Instance, table: str, record: dict[str, str], path: str
) -> tuple[str, Column | None, str]:
    """(owner table, column, raw value) at the end of ``path``."""
    current_table, current = table, record
    parts = path.split(".")
    for n, part in enumerate(parts):
        column = column_at(instance, current_table, part)
        value = current.get(part, "")
        if n == len(parts) - 1:
            return current_table, column, value
        if column is None or column.reference is None or not value:
            return current_table, None, ""
        referenced = instance.get(column.reference, value)
        if referenced is None:
            return current_table, None, ""
        current_table = referenced.get("sys_class_name") or column.reference
        current = referenced
    return current_table, None, ""


def _display(instance: Instance, table: str, column: Column | None, raw: str) -> str:
    if column is None or not raw:
        return raw
    if column.kind == REFERENCE and column.reference:
        return instance.display_of(column.reference, raw)
    if column.kind == CHOICE:
        return instance.choice_label(table, column.name, raw) or raw
    return raw


def render_value(
    instance: Instance,
    table: str,
    record: dict[str, str],
    path: str,
    options: RenderOptions,
) -> Any:
    owner, column, raw = _walk(instance, table, record, path)
    if owner == "task" and "." not in path:
        owner = record.get("sys_class_name") or owner
    is_ref = column is not None and column.kind == REFERENCE and column.reference
    link = (
        f"{options.base}/api/now/table/{column.reference}/{raw}"
        if is_ref and raw and column is not None and not options.exclude_links
        else None
    )
    if options.display == "false":
        return {"link": link, "value": raw} if link else raw
    shown = _display(instance, owner, column, raw)
    if options.display == "true":
        return {"display_value": shown, "link": link} if link else shown
    both: dict[str, Any] = {"display_value": shown, "value": raw}
    if link:
        both["link"] = link
    return both


def render(
    instance: Instance, table: str, record: dict[str, str], options: RenderOptions
) -> dict[str, Any]:
    if options.fields is None:
        if table == "task":
            names = list(_TASK)
        else:
            definition = instance.table(table)
            names = [n for n, c in definition.columns.items() if c.kind != PASSWORD]
    else:
        names = [
            f
            for f in options.fields
            if (c := column_at(instance, table, f)) is not None and c.kind != PASSWORD
        ]
    return {name: render_value(instance, table, record, name, options) for name in names}
