"""What an out-of-the-box instance does when a task record is saved (business rules, the
priority lookup and the close-info data policy), applied to the record about to be stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import data_policy
from .schema import PRIORITY, Table

if TYPE_CHECKING:
    from .state import Instance

RESOLVED, CLOSED, CANCELED = "6", "7", "8"
OPEN_STATES = ("1", "2", "3")


def before_save(
    instance: Instance,
    table: Table,
    record: dict[str, str],
    previous: dict[str, str] | None,
    user_sys_id: str,
    now: str,
) -> None:
    """Complete ``record`` in place; raises the data-policy 403 when close info is missing."""
    if not table.task:
        if table.name == "sys_user" and not record.get("name"):
            record["name"] = " ".join(
                p for p in (record.get("first_name", ""), record.get("last_name", "")) if p
            )
        return
    if not record.get("number") and table.number_prefix:
        record["number"] = instance.next_number(table)
    record["sys_class_name"] = table.name
    if previous is None:
        record["opened_at"] = record.get("opened_at") or now
        record["opened_by"] = record.get("opened_by") or user_sys_id
    priority = PRIORITY.get((record.get("impact", ""), record.get("urgency", "")))
    if priority is not None:
        record["priority"] = priority
    state = record.get("state", "")
    record["active"] = "false" if state in table.inactive_states else "true"
    if table.name == "incident":
        _incident(record, previous, user_sys_id, now)


def _incident(
    record: dict[str, str], previous: dict[str, str] | None, user_sys_id: str, now: str
) -> None:
    state = record.get("state", "")
    before = previous.get("state", "") if previous else ""
    record["incident_state"] = state
    if state in (RESOLVED, CLOSED):
        missing = [
            label
            for name, label in (
                ("close_code", "Resolution code"),
                ("close_notes", "Resolution notes"),
            )
            if not record.get(name, "").strip()
        ]
        if missing:
            raise data_policy(missing)
        if not record.get("resolved_at"):
            record["resolved_at"] = now
            record["resolved_by"] = record.get("resolved_by") or user_sys_id
    if state in (CLOSED, CANCELED) and before != state and not record.get("closed_at"):
        record["closed_at"] = now
        record["closed_by"] = record.get("closed_by") or user_sys_id
    if previous is not None and before in (RESOLVED, CLOSED) and state in OPEN_STATES:
        record["reopen_count"] = str(int(record.get("reopen_count") or "0") + 1)
        record["resolved_at"] = record["resolved_by"] = ""
        record["closed_at"] = record["closed_by"] = ""
