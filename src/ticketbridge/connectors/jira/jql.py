"""Safe JQL building: every value is quoted and escaped, never pasted in raw.

Jira reads ``updated >= "yyyy/MM/dd HH:mm"`` in the *user's* time zone, while an unquoted
integer is epoch milliseconds; the sync uses the number so that the watermark means the same
instant whatever the account's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence

SYNC_ORDER = "ORDER BY updated ASC, key ASC"
# Key order (``id``, ``key`` and ``issuekey`` are one field in JQL) does not move when issues
# are edited, unlike ``updated``, so edits during the reconciliation's walk shift nothing.
SCOPE_ORDER = "ORDER BY key ASC"
# Every search needs a restriction (Jira refuses unbounded JQL); "updated >= 0" is one that
# matches every issue.
EVERYTHING = "updated >= 0"


def quote(value: str) -> str:
    """A JQL string literal: double quotes, with backslashes and quotes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def project_clause(project_keys: Sequence[str] | None) -> str | None:
    if not project_keys:
        return None
    return f"project in ({', '.join(quote(k) for k in project_keys)})"


def updated_since_jql(project_keys: Sequence[str] | None, since_ms: int) -> str:
    """Issues of ``project_keys`` (all when empty) updated at or after ``since_ms``."""
    clauses = [c for c in (project_clause(project_keys),) if c]
    clauses.append(f"updated >= {max(0, int(since_ms))}")
    return f"{' AND '.join(clauses)} {SYNC_ORDER}"


def scope_jql(project_keys: Sequence[str] | None) -> str:
    """Every issue in scope, in id order (reconciliation)."""
    return f"{project_clause(project_keys) or EVERYTHING} {SCOPE_ORDER}"
