"""Jira's JSON shapes for users, projects, issue types, statuses and issues.

Everything here is a pure function of the stored state and the request's base URL (``base``,
e.g. ``https://acme.atlassian.net``), which every ``self`` link is built from. Shapes follow the
OpenAPI schemas (``User``, ``Project``, ``IssueTypeDetails``, ``StatusDetails``, ``IssueBean``...)
so that contract tests can validate them; a few keys real Jira adds but the schemas forbid
(``untranslatedName``, ``defaultLocale``...) are deliberately left out.

Field selection (``fields=``) follows Jira: ``*all``, ``*navigable``, field ids, and ``-id`` to
exclude. In the emulator ``*all`` and ``*navigable`` are the same set (see :mod:`model`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .model import (
    CUSTOM_FIELDS,
    FIELDS_BY_ID,
    ISSUE_TYPES,
    PRIORITIES_BY_ID,
    RESOLUTIONS_BY_ID,
    SYSTEM_FIELD_IDS,
    FieldDef,
    Issue,
    IssueType,
    Priority,
    Project,
    Status,
    Transition,
    User,
    jira_time,
)
from .text import adf_to_text

if TYPE_CHECKING:
    from .state import Site

API = "/rest/api/3"
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
# "*extra" stands for custom fields an issue holds that GET /field does not declare.
ALL_FIELD_IDS = (*SYSTEM_FIELD_IDS, *(f.id for f in CUSTOM_FIELDS), "*extra")


def avatar_urls(base: str, kind: str, ident: str) -> dict[str, str]:
    return {
        f"{n}x{n}": f"{base}/secure/{kind}avatar?size={n}&avatarId={ident}"
        for n in (48, 24, 16, 32)
    }


def user_json(base: str, user: User, *, api: str = API) -> dict[str, Any]:
    return {
        "self": f"{base}{api}/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "accountType": user.account_type,
        "emailAddress": user.email,
        "avatarUrls": avatar_urls(base, "user", user.account_id[:8]),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
    }


def myself_json(base: str, user: User, *, api: str = API) -> dict[str, Any]:
    data = user_json(base, user, api=api)
    data.update(
        {
            "locale": "en_US",
            "groups": {"size": 1, "items": []},
            "applicationRoles": {"size": 1, "items": []},
            "expand": "groups,applicationRoles",
        }
    )
    return data


def issuetype_json(base: str, t: IssueType, *, api: str = API) -> dict[str, Any]:
    return {
        "self": f"{base}{api}/issuetype/{t.id}",
        "id": t.id,
        "description": t.description,
        "iconUrl": f"{base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{t.avatar_id}"
        "?size=medium",
        "name": t.name,
        "subtask": t.subtask,
        "avatarId": t.avatar_id,
        "hierarchyLevel": t.hierarchy_level,
    }


def priority_json(base: str, p: Priority, *, api: str = API) -> dict[str, Any]:
    return {
        "self": f"{base}{api}/priority/{p.id}",
        "statusColor": p.color,
        "description": f"{p.name} priority",
        "iconUrl": f"{base}/images/icons/priorities/{p.name.lower()}.svg",
        "name": p.name,
        "id": p.id,
        "isDefault": p.id == "3",
    }


def status_json(base: str, s: Status, *, api: str = API) -> dict[str, Any]:
    c = s.category
    return {
        "self": f"{base}{api}/status/{s.id}",
        "description": s.description,
        "iconUrl": f"{base}/",
        "name": s.name,
        "id": s.id,
        "statusCategory": {
            "self": f"{base}{api}/statuscategory/{c.id}",
            "id": c.id,
            "key": c.key,
            "colorName": c.color,
            "name": c.name,
        },
    }


def transition_json(
    base: str,
    t: Transition,
    *,
    api: str = API,
    screen: Sequence[str] = (),
    with_fields: bool = False,
) -> dict[str, Any]:
    """One ``IssueTransition``; ``fields`` (``expand=transitions.fields``) lists the
    screen's fields, each ``required: true`` as the emulator only models required ones."""
    data: dict[str, Any] = {
        "id": t.id,
        "name": t.name,
        "to": status_json(base, t.to, api=api),
        "hasScreen": bool(screen),
        "isGlobal": t.sources is None,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if with_fields:
        data["fields"] = {f: screen_field_json(base, FIELDS_BY_ID[f], api=api) for f in screen}
    return data


def screen_field_json(base: str, f: FieldDef, *, api: str = API) -> dict[str, Any]:
    """A transition screen's field as Jira's ``FieldMetadata``."""
    data: dict[str, Any] = {
        "required": True,
        "schema": f.schema or {"type": "any"},
        "name": f.name,
        "key": f.id,
        "hasDefaultValue": False,
        "operations": ["set"],
    }
    if f.id == "resolution":
        data["allowedValues"] = [
            {"self": f"{base}{api}/resolution/{r.id}", "id": r.id, "name": r.name}
            for r in RESOLUTIONS_BY_ID.values()
        ]
    return data


def project_json(
    base: str,
    site: Site,
    p: Project,
    *,
    expand: Iterable[str] = (),
    full: bool = False,
    api: str = API,
) -> dict[str, Any]:
    expand = set(expand)
    data: dict[str, Any] = {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{base}{api}/project/{p.id}",
        "id": p.id,
        "key": p.key,
        "name": p.name,
        "avatarUrls": avatar_urls(base, "project", p.id),
        "projectTypeKey": "software",
        "simplified": p.simplified,
        "style": p.style,
        "isPrivate": False,
        "properties": {},
    }
    if full or "description" in expand:
        data["description"] = p.description
    if full or "lead" in expand:
        lead = site.users.get(p.lead_account_id)
        if lead is not None:
            data["lead"] = user_json(base, lead, api=api)
    if full or "issueTypes" in expand:
        data["issueTypes"] = [issuetype_json(base, t, api=api) for t in ISSUE_TYPES]
    if full:
        data.update({"components": [], "versions": [], "assigneeType": "UNASSIGNED", "roles": {}})
    return data


def field_json(f: FieldDef) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": f.id,
        "key": f.id,
        "name": f.name,
        "custom": f.custom,
        "orderable": f.orderable,
        "navigable": f.navigable,
        "searchable": f.searchable,
        "clauseNames": list(f.clause_names),
    }
    if f.schema is not None:
        data["schema"] = dict(f.schema)
    return data


def select_fields(requested: Sequence[str], default: Sequence[str]) -> tuple[list[str], bool]:
    """Resolve a ``fields`` parameter to field ids; the flag says "render ``{id}`` only".

    ``requested`` is the list of comma-separated values (repeated params allowed).
    """
    tokens = [t.strip() for item in requested for t in item.split(",") if t.strip()]
    if all(t.startswith("-") for t in tokens):  # only exclusions: exclude from the default
        tokens = list(default) + tokens
    chosen: list[str] = []
    excluded: set[str] = set()
    for token in tokens:
        if token in ("*all", "*navigable"):
            chosen.extend(ALL_FIELD_IDS)
        elif token.startswith("-"):
            excluded.add(token[1:])
        elif token not in ("id", "key", "*none"):
            chosen.append(token)
    ids = [f for f in dict.fromkeys(chosen) if f not in excluded]
    id_only = not ids and set(tokens) <= {"id", "*none"}
    ids = ids if ids != ["*extra"] else []
    return ids, id_only


class IssueRenderer:
    """Renders ``IssueBean`` objects for one request (base URL, API version, field list)."""

    def __init__(
        self,
        site: Site,
        base: str,
        api_version: int,
        field_ids: Sequence[str] = ALL_FIELD_IDS,
        property_keys: Sequence[str] = (),
    ) -> None:
        self.site = site
        self.base = base
        self.api_version = api_version
        self.api = f"/rest/api/{api_version}"
        self.field_ids = list(field_ids)
        # Requested entity properties (``properties``); ``*all`` and ``-key`` as in Jira.
        self.property_keys = [k.strip() for item in property_keys for k in item.split(",")]
        self.property_keys = [k for k in self.property_keys if k]

    def issue(self, issue: Issue) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for fid in self.field_ids:
            if fid == "*extra":
                fields.update((k, v) for k, v in issue.custom.items() if k not in FIELDS_BY_ID)
                continue
            value = self._field(issue, fid)
            if value is not _ABSENT:
                fields[fid] = value
        data: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{self.base}{self.api}/issue/{issue.id}",
            "key": issue.key,
            "fields": fields,
        }
        if self.property_keys:
            data["properties"] = self.properties(issue)
        return data

    def properties(self, issue: Issue) -> dict[str, Any]:
        keys = self.property_keys
        excluded = {k[1:] for k in keys if k.startswith("-")}
        wanted = list(issue.properties) if "*all" in keys else keys
        return {
            k: issue.properties[k]
            for k in wanted
            if k in issue.properties and k not in excluded and not k.startswith("-")
        }

    def issue_ref(self, issue: Issue) -> dict[str, Any]:
        """The compact form used for ``parent`` and ``subtasks``."""
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": f"{self.base}{self.api}/issue/{issue.id}",
            "fields": {
                "summary": issue.summary,
                "status": status_json(self.base, issue.status, api=self.api),
                "priority": self._priority(issue),
                "issuetype": issuetype_json(self.base, issue.issuetype, api=self.api),
            },
        }

    def _priority(self, issue: Issue) -> dict[str, Any] | None:
        p = PRIORITIES_BY_ID.get(issue.priority_id or "")
        return priority_json(self.base, p, api=self.api) if p else None

    def _user(self, account_id: str | None) -> dict[str, Any] | None:
        user = self.site.users.get(account_id) if account_id else None
        return user_json(self.base, user, api=self.api) if user else None

    def _field(self, issue: Issue, fid: str) -> Any:
        base, api = self.base, self.api
        if fid.startswith("customfield_"):
            if fid in issue.custom:
                return issue.custom[fid]
            return None if fid in FIELDS_BY_ID else _ABSENT
        match fid:
            case "summary":
                return issue.summary
            case "description":
                if issue.description is None:
                    return None
                if self.api_version >= 3:
                    return issue.description
                return issue.description_text or adf_to_text(issue.description)
            case "status":
                return status_json(base, issue.status, api=api)
            case "priority":
                return self._priority(issue)
            case "labels":
                return list(issue.labels)
            case "duedate":
                return issue.duedate
            case "assignee":
                return self._user(issue.assignee)
            case "reporter":
                return self._user(issue.reporter)
            case "parent":
                parent = self.site.issues.get(issue.parent_id) if issue.parent_id else None
                return self.issue_ref(parent) if parent else _ABSENT
            case "issuetype":
                return issuetype_json(base, issue.issuetype, api=api)
            case "project":
                p = self.site.projects[issue.project_id]
                return {
                    k: v
                    for k, v in project_json(base, self.site, p, api=api).items()
                    if k
                    in ("self", "id", "key", "name", "projectTypeKey", "simplified", "avatarUrls")
                }
            case "created":
                return jira_time(issue.created)
            case "updated":
                return jira_time(issue.updated)
            case "resolution":
                r = RESOLUTIONS_BY_ID.get(issue.resolution_id or "")
                return (
                    {
                        "self": f"{base}{api}/resolution/{r.id}",
                        "id": r.id,
                        "description": r.description,
                        "name": r.name,
                    }
                    if r
                    else None
                )
            case "resolutiondate":
                return jira_time(issue.resolutiondate) if issue.resolutiondate else None
            case "statuscategorychangedate":
                return jira_time(issue.statuscategorychangedate)
            case "subtasks":
                return [self.issue_ref(s) for s in self.site.subtasks_of(issue)]
        return _ABSENT


class _Absent:
    """Marker: the field is not rendered at all (unknown id, or no parent)."""


_ABSENT: Any = _Absent()
