"""ServiceNow's id grammar, checked where a request enters (the write schemas, then the ticket
services with the connection's vendor).

A value outside these forms cannot name anything in ServiceNow and could carry ``/``, ``^``
(an encoded-query separator) or ``?`` into a URL or query.
"""

from __future__ import annotations

import re

SYS_ID = re.compile(r"[0-9a-f]{32}")
# Record numbers: a prefix and digits (INC0010001, PRB0000007, CHG0030001, RITM0010001).
NUMBER = re.compile(r"[A-Z]{2,10}[0-9]{4,12}")
TABLE = re.compile(r"[a-z][a-z0-9_]{0,79}")
# Choice values (a category such as "inquiry", "software", "hardware/peripherals").
CHOICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _./&()-]{0,79}")
# Custom fields (u_*) and the two resolution fields a caller may set on resolve.
CUSTOM_FIELD = re.compile(r"u_[a-z0-9_]{1,78}|close_code|close_notes")

RULES: dict[str, tuple[tuple[re.Pattern[str], ...], str]] = {
    "project": ((TABLE,), "a ServiceNow task table name (like incident)"),
    "issue_type": ((CHOICE,), "a ServiceNow category value (like inquiry)"),
    "issue": ((SYS_ID, NUMBER), "a ServiceNow sys_id (32 hex digits) or number (like INC0010001)"),
    "account": ((SYS_ID,), "a ServiceNow user sys_id (32 hex digits)"),
    "custom_field": ((CUSTOM_FIELD,), "a ServiceNow custom field like u_team"),
}


def check(kind: str, value: str) -> str:
    patterns, says = RULES[kind]
    if not any(p.fullmatch(value) for p in patterns):
        raise ValueError(f"must be {says}")
    return value
