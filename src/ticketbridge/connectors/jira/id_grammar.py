"""Jira's id grammar, checked where a request enters (the write schemas).

A vendor id that does not look like one of these cannot name anything in Jira, and could
carry ``/``, ``..``, ``?`` or JQL into a vendor URL or query; refusing it at the schema gives
the caller a 422 naming the field before anything is sent. The Jira client checks ids again
where they enter a URL path (defence in depth).
"""

from __future__ import annotations

import re

NUMERIC_ID = re.compile(r"[0-9]{1,18}")
# Jira project keys: an uppercase letter, then uppercase letters, digits or underscores.
PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,254}")
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,254}-[1-9][0-9]{0,17}")
# Atlassian account ids: "5b10ac8d82e05b22cc7d4ef5", "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077".
ACCOUNT_ID = re.compile(r"[A-Za-z0-9:_-]{1,128}")
CUSTOM_FIELD = re.compile(r"customfield_[0-9]{1,18}")


# kind -> (the forms it may take, what the caller is told when it takes none of them)
RULES: dict[str, tuple[tuple[re.Pattern[str], ...], str]] = {
    "project": ((PROJECT_KEY, NUMERIC_ID), "a Jira project key (like OPS) or numeric project id"),
    "issue_type": ((NUMERIC_ID,), "a numeric Jira issue type id (like 10004)"),
    "issue": ((ISSUE_KEY, NUMERIC_ID), "a Jira issue key (like OPS-12) or numeric issue id"),
    "account": ((ACCOUNT_ID,), "an Atlassian account id (letters, digits, ':', '_', '-')"),
    "custom_field": ((CUSTOM_FIELD,), "a Jira custom field id like customfield_10030"),
}


def check(kind: str, value: str) -> str:
    """``value`` when it matches the grammar of ``kind``; otherwise ValueError saying what
    is expected (never echoing the value: it may be long or hostile)."""
    patterns, says = RULES[kind]
    if not any(p.fullmatch(value) for p in patterns):
        raise ValueError(f"must be {says}")
    return value
