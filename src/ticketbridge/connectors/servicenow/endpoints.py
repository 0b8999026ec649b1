"""ServiceNow paths as metric labels: the words of the paths we call, everything else ``{id}``
(a sys_id never becomes a label)."""

from __future__ import annotations

_WORDS = frozenset(
    {
        "api",
        "now",
        "v1",
        "v2",
        "table",
        "batch",
        "oauth_token.do",
        "incident",
        "problem",
        "change_request",
        "sc_req_item",
        "sys_user",
        "sys_user_group",
        "sys_user_has_role",
        "sys_choice",
    }
)


def endpoint_template(path: str) -> str:
    """``/api/now/table/incident/<sys_id>`` → ``/api/now/table/incident/{id}``."""
    return "/".join(s if not s or s in _WORDS else "{id}" for s in path.split("/"))
