"""Emulator state: sites, and per site its users, projects, issues and workflow operations.

A :class:`FakeJiraState` holds any number of :class:`Site` objects, chosen by the request's
``Host`` header: ``acme.atlassian.net`` is site ``acme``; any other host (``127.0.0.1:8081``,
``testserver``) is the default site. A site appears on first use, bootstrapped (or seeded, if the
state was given a seed) the same way as every other.

Every site starts with the default admin user, ``admin@example.com`` with API token
``fake-token`` (:data:`DEFAULT_ADMIN_EMAIL`, :data:`DEFAULT_ADMIN_TOKEN`), and, when not seeded,
one empty project ``DEMO``. Only users with an API token can authenticate.

The Python API (``site.get_issue(key)``, ``site.issues_count()``, ``site.create_issue(...)``...)
is for in-process tests. The emulator is single-threaded: routes run on the event loop, so the
Python API should be used from the loop or while no request is in flight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ticketbridge.fakekit.tenants import DEFAULT_TENANT, Tenant, Tenants

from .bulk import BulkTasks
from .errors import JiraError, not_found
from .faults import FaultConfig, Faults, Stats
from .model import (
    CAT_DONE,
    FIELDS_BY_ID,
    RESOLUTION_DONE,
    WORKFLOWS,
    Issue,
    Project,
    Transition,
    User,
    Workflow,
)
from .search import SearchEngine, build_search_doc
from .seed import SeedSpec, seed_site
from .validation import IssueInput

DEFAULT_ADMIN_EMAIL = "admin@example.com"
DEFAULT_ADMIN_TOKEN = "fake-token"
DEFAULT_ADMIN_ACCOUNT_ID = "5b10a2844c20165700ede21g"
DEFAULT_SITE = DEFAULT_TENANT
FIRST_ISSUE_ID = 10000
FIRST_PROJECT_ID = 10000


def account_id_for(seed: str) -> str:
    """A stable, Atlassian-looking 24-hex-digit account id derived from ``seed``."""
    return hashlib.sha1(seed.encode()).hexdigest()[:24]


class Site(Tenant):
    """One Jira Cloud site (``<name>.atlassian.net``) with its own data, faults and stats."""

    faults_class = Faults
    stats_class = Stats
    faults: Faults
    stats: Stats

    # -- lifecycle -----------------------------------------------------------------------------
    def _wipe(self) -> None:
        self.users: dict[str, User] = {}
        self._users_by_email: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self._projects_by_key: dict[str, Project] = {}
        self._project_refs: dict[str, dict[str, str]] = {}
        self.issues: dict[int, Issue] = {}
        self._issues_by_key: dict[str, Issue] = {}
        self.children: dict[int, list[int]] = {}
        self.next_issue_id = FIRST_ISSUE_ID
        self.next_project_id = FIRST_PROJECT_ID
        self.tasks = BulkTasks(self)
        self.search = SearchEngine(self)

    def bootstrap(self) -> None:
        """The state of a fresh, unseeded site: the admin user and an empty DEMO project."""
        admin = self.add_admin()
        self.add_project("DEMO", "Demo project", lead=admin.account_id)

    def add_admin(self) -> User:
        return self.add_user(
            DEFAULT_ADMIN_EMAIL,
            "Site Admin",
            api_token=DEFAULT_ADMIN_TOKEN,
            account_id=DEFAULT_ADMIN_ACCOUNT_ID,
        )

    def reset(self, seed: SeedSpec | None = None, *, keep_faults: bool = False) -> None:
        """Wipe everything; then bootstrap, or seed deterministically from ``seed``."""
        super().reset(seed, keep_faults=keep_faults)

    def _populate(self, seed: SeedSpec | None) -> None:
        if seed is None:
            self.bootstrap()
        else:
            seed_site(self, seed)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- users -------------------------------------------------------------------------------
    def add_user(
        self,
        email: str,
        display_name: str,
        *,
        api_token: str | None = None,
        active: bool = True,
        account_id: str | None = None,
        time_zone: str = "Etc/UTC",
    ) -> User:
        # Atlassian account ids are global (one person, many sites): derive from the email.
        user = User(
            account_id or account_id_for(email.lower()),
            display_name,
            email,
            active=active,
            api_token=api_token,
            time_zone=time_zone,
        )
        self.users[user.account_id] = user
        self._users_by_email[email.lower()] = user
        return user

    def user_by_email(self, email: str) -> User | None:
        return self._users_by_email.get(email.lower())

    def set_api_token(self, email: str, token: str | None) -> User:
        user = self.user_by_email(email)
        if user is None:
            raise KeyError(email)
        user.api_token = token
        return user

    def authenticate(self, email: str, token: str) -> User | None:
        user = self.user_by_email(email)
        if user is None or not user.active or user.api_token is None:
            return None
        return user if user.api_token == token else None

    # -- projects ------------------------------------------------------------------------------
    def add_project(
        self,
        key: str,
        name: str,
        *,
        lead: str | None = None,
        simplified: bool = False,
        description: str = "",
        workflow: str = "default",
    ) -> Project:
        if key in self._projects_by_key:
            raise ValueError(f"project {key} exists")
        if workflow not in WORKFLOWS:
            raise ValueError(f"unknown workflow {workflow!r}; known: {sorted(WORKFLOWS)}")
        lead = lead or next(iter(self.users), DEFAULT_ADMIN_ACCOUNT_ID)
        project = Project(
            str(self.next_project_id), key, name, lead, simplified, description, workflow=workflow
        )
        self.next_project_id += 1
        self.projects[project.id] = project
        self._projects_by_key[key] = project
        self._project_refs[project.id] = {"id": project.id, "key": key, "name": name}
        return project

    def find_project(self, key_or_id: str) -> Project | None:
        return self._projects_by_key.get(key_or_id) or self.projects.get(key_or_id)

    # -- issues: lookup ------------------------------------------------------------------------
    def find_issue(self, key_or_id: str | int) -> Issue | None:
        text = str(key_or_id)
        if text.isdigit():
            return self.issues.get(int(text))
        return self._issues_by_key.get(text.upper())

    def get_issue(self, key_or_id: str | int) -> Issue:
        """The stored issue (raises ``KeyError`` if there is none)."""
        issue = self.find_issue(key_or_id)
        if issue is None:
            raise KeyError(key_or_id)
        return issue

    def require_issue(self, key_or_id: str) -> Issue:
        issue = self.find_issue(key_or_id)
        if issue is None:
            raise not_found()
        return issue

    def issues_count(self) -> int:
        return len(self.issues)

    def subtasks_of(self, issue: Issue) -> list[Issue]:
        return [
            self.issues[i]
            for i in self.children.get(issue.id, ())
            if self.issues[i].issuetype.subtask
        ]

    def all_children(self, issue: Issue) -> list[Issue]:
        return [self.issues[i] for i in self.children.get(issue.id, ())]

    # -- issues: writes ------------------------------------------------------------------------
    def insert(self, issue: Issue) -> Issue:
        """Store a fully built issue (seeding's fast path; no validation)."""
        self.issues[issue.id] = issue
        self._issues_by_key[issue.key] = issue
        if issue.parent_id is not None:
            self.children.setdefault(issue.parent_id, []).append(issue.id)
        self.next_issue_id = max(self.next_issue_id, issue.id + 1)
        return issue

    def create_issue(
        self, body: Mapping[str, Any], *, api_version: int = 3, actor: User | None = None
    ) -> Issue:
        """``POST /issue``: validate like Jira, store, return the new issue."""
        project, issuetype, changes, custom = IssueInput(
            self, body, api_version=api_version
        ).for_create()
        now = self.now_ms()
        issue = Issue(
            id=self.next_issue_id,
            key=f"{project.key}-{project.next_number}",
            project_id=project.id,
            issuetype_id=issuetype.id,
            summary="",
            reporter=actor.account_id if actor else None,
            status_id=self.workflow_of(project).initial.id,
            created=now,
            updated=now,
            statuscategorychangedate=now,
        )
        properties = entity_properties(body.get("properties"))
        project.next_number += 1
        for name, value in changes.items():
            setattr(issue, name, value)
        issue.custom.update(custom)
        issue.properties.update(properties)
        self.insert(issue)
        self.refresh(issue)
        return issue

    def edit_issue(self, issue: Issue, body: Mapping[str, Any], *, api_version: int = 3) -> None:
        """``PUT /issue/{key}``: validate and apply ``fields`` and ``update``."""
        changes, custom = IssueInput(self, body, api_version=api_version, issue=issue).for_edit()
        self._apply(issue, changes, custom)

    def _apply(self, issue: Issue, changes: Mapping[str, Any], custom: Mapping[str, Any]) -> None:
        if not changes and not custom:
            return  # like Jira, an edit that changes nothing does not bump ``updated``
        if "parent_id" in changes and changes["parent_id"] != issue.parent_id:
            if issue.parent_id is not None:
                self.children[issue.parent_id].remove(issue.id)
            if changes["parent_id"] is not None:
                self.children.setdefault(changes["parent_id"], []).append(issue.id)
        for name, value in changes.items():
            setattr(issue, name, value)
        issue.custom.update(custom)
        self.touch(issue)

    def touch(self, issue: Issue) -> None:
        issue.updated = max(self.now_ms(), issue.updated)
        self.refresh(issue)

    def refresh(self, issue: Issue) -> None:
        """Rebuild the cached JQL search document after a write."""
        issue.search_doc = None
        self.search_doc(issue)

    def delete_issue(self, issue: Issue, *, delete_subtasks: bool = False) -> list[Issue]:
        """``DELETE /issue/{key}``; returns every issue removed."""
        subtasks = self.subtasks_of(issue)
        if subtasks and not delete_subtasks:
            raise JiraError(
                400, "The issue has subtasks. Use the deleteSubtasks parameter to delete them too."
            )
        removed = [issue, *subtasks]
        for gone in removed:
            del self.issues[gone.id]
            del self._issues_by_key[gone.key]
            if gone.parent_id is not None and gone.parent_id in self.children:
                siblings = self.children[gone.parent_id]
                if gone.id in siblings:
                    siblings.remove(gone.id)
        for child in self.all_children(issue):  # epic children lose their parent
            child.parent_id = None
            self.touch(child)
        self.children.pop(issue.id, None)
        return removed

    # -- workflow ------------------------------------------------------------------------------
    @staticmethod
    def workflow_of(project: Project) -> Workflow:
        return WORKFLOWS[project.workflow]

    def transitions_for(self, issue: Issue) -> list[Transition]:
        """The transitions of the issue's project workflow that leave its current status."""
        return self.workflow_of(self.projects[issue.project_id]).transitions_from(issue.status_id)

    def screen_of(self, issue: Issue, transition: Transition) -> tuple[str, ...]:
        """Field ids the transition's screen requires in this issue's project."""
        return self.projects[issue.project_id].screens.get(transition.id, ())

    def set_screen(self, project_key: str, transition_id: str, required: Iterable[str]) -> None:
        """Put a screen requiring ``required`` fields on a transition of the project's
        workflow (an empty list removes it)."""
        project = self.find_project(project_key)
        if project is None:
            raise KeyError(project_key)
        if self.workflow_of(project).transition(transition_id) is None:
            raise ValueError(f"workflow {project.workflow} has no transition {transition_id}")
        fields = tuple(required)
        unknown = [f for f in fields if f not in FIELDS_BY_ID]
        if unknown:
            raise ValueError(f"unknown fields {unknown}")
        if fields:
            project.screens[transition_id] = fields
        else:
            project.screens.pop(transition_id, None)

    def transition_issue(
        self,
        issue: Issue,
        transition_id: str,
        body: Mapping[str, Any] | None = None,
        *,
        api_version: int = 3,
    ) -> None:
        transition = next((t for t in self.transitions_for(issue) if t.id == transition_id), None)
        if transition is None:
            raise JiraError(400, f"Transition id '{transition_id}' is not valid for this issue.")
        given = (body or {}).get("fields") or {}
        missing = {
            f: f"{FIELDS_BY_ID[f].name} is required."
            for f in self.screen_of(issue, transition)
            if not isinstance(given, Mapping) or given.get(f) in (None, "", [])
        }
        if missing:
            raise JiraError(400, errors=missing)
        changes: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        if body and (body.get("fields") or body.get("update")):
            only = {k: body[k] for k in ("fields", "update") if body.get(k)}
            changes, custom = IssueInput(
                self, only, api_version=api_version, issue=issue, allow_resolution=True
            ).for_edit()
        self._move(issue, transition, changes)
        self._apply(issue, changes, custom)

    def _move(self, issue: Issue, transition: Transition, changes: dict[str, Any]) -> None:
        now = self.now_ms()
        old = issue.status
        issue.status_id = transition.to.id
        if transition.to.category is not old.category:
            issue.statuscategorychangedate = now
        if transition.to.category is CAT_DONE:
            # Entering Done resolves (as "Done" unless the transition screen chose another).
            if changes.get("resolution_id") is None:
                changes["resolution_id"] = RESOLUTION_DONE.id
            if old.category is not CAT_DONE or issue.resolutiondate is None:
                changes["resolutiondate"] = now
        else:
            changes["resolution_id"] = None
            changes["resolutiondate"] = None

    # -- search documents ----------------------------------------------------------------------
    def search_doc(self, issue: Issue) -> dict[str, Any]:
        """The JQL search document of ``issue`` (cached on the issue until its next write)."""
        doc = issue.search_doc
        if doc is None:
            doc = issue.search_doc = build_search_doc(self, issue)
        return doc

    def project_ref(self, project_id: str) -> dict[str, str]:
        """``{id, key, name}`` of a project, one shared dict per project (search documents)."""
        return self._project_refs[project_id]


class FakeJiraState(Tenants[Site]):
    """All sites of one emulator instance.

    ``seed`` (a :class:`SeedSpec`, or an int meaning "that many issues in total") seeds every
    site when it is first used; ``faults`` is every new site's initial fault configuration.
    """

    tenant_class = Site
    DOMAIN = ".atlassian.net"

    def __init__(
        self,
        *,
        seed: SeedSpec | int | None = None,
        faults: FaultConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        spec = SeedSpec.for_total(seed) if isinstance(seed, int) else seed
        super().__init__(seed=spec, faults=faults, clock=clock)
        self.seed: SeedSpec | None = spec

    @property
    def sites(self) -> dict[str, Site]:
        return self.tenants

    @staticmethod
    def site_name(host: str) -> str:
        """``acme.atlassian.net[:443]`` -> ``acme``; any other host -> the default site."""
        return FakeJiraState.tenant_name(host)

    # The vendor's names for the registry's (no call in between on the request path).
    site = Tenants.tenant
    all_sites = Tenants.all


def entity_properties(raw: Any) -> dict[str, Any]:
    """``IssueUpdateDetails.properties``: a list of ``EntityProperty`` ``{key, value}``.
    Jira refuses a key that is not a non-empty string of at most 255 characters."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise JiraError(400, "Properties must be a list of entity properties.")
    out: dict[str, Any] = {}
    for item in raw:
        key = item.get("key") if isinstance(item, dict) else None
        if not isinstance(key, str) or not key or len(key) > 255:
            raise JiraError(400, "The property key must be between 1 and 255 characters long.")
        out[key] = item.get("value")
    return out
