"""Jira paths as metric labels: the words of the REST paths we call, everything else ``{id}``.

An allow-list rather than a pattern: a lowercase project key (``/project/demo``) or an account
id must never become a label, and a path we have not listed still yields a bounded template.
"""

from __future__ import annotations

_WORDS = frozenset(
    {
        "rest",
        "api",
        "3",
        "myself",
        "serverInfo",
        "field",
        "priority",
        "project",
        "search",
        "issue",
        "createmeta",
        "issuetypes",
        "user",
        "assignable",
        "jql",
        "approximate-count",
        "bulk",
        "issues",
        "transition",
        "transitions",
        "fields",
        "statuses",
        "queue",
    }
)


def endpoint_template(path: str) -> str:
    """``/rest/api/3/issue/ENG-12/transitions`` → ``/rest/api/3/issue/{id}/transitions``."""
    return "/".join(s if not s or s in _WORDS else "{id}" for s in path.split("/"))
