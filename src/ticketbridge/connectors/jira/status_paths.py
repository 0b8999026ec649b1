"""Reaching a normalized status through an issue's Jira workflow.

Which Jira statuses satisfy a normalized status (:func:`rank`, best first):

0. the connection's ``status_mapping`` names it (a status mapped to *another* normalized
   status never satisfies), or its name is the default name of the target (Open, Reopened,
   To Do, In Progress, In Review, Resolved, Closed, Done; see ``DEFAULT_STATUS_MAPPING``);
1. an unnamed status of the target's category that reads back as the target;
2. any other status of the target's category (OPEN/TODO: To Do ``new``, IN_PROGRESS/IN_REVIEW:
   In Progress ``indeterminate``, RESOLVED/CLOSED: Done ``done``).

The goals are the statuses of the issue's workflow (``GET /project/{key}/statuses``, for its
issue type) with the best rank; that read is skipped when a transition from the current
status leads to a rank-0 status (one step to a best fit is shortest whatever else exists).
The current status satisfies the request when its rank is the best one: "already there", no
transition. Otherwise the issue walks a shortest path: Jira only shows the transitions leaving
the issue's *current* status, so each status reached is read (``GET /issue/{key}/transitions``
or the issue's ``expand=transitions.fields``, cached per workflow and status for the operation)
and the next step is the first edge of a shortest known path to a goal (breadth-first over
what has been read), else an unexplored status of the category closest to the goals. At most
:data:`MAX_STEPS` transitions. A transition whose screen requires fields is never taken
(ticketbridge sends none): it is a 409 naming the fields.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ticketbridge.connectors.jira.mapping import DEFAULT_STATUS_MAPPING, lookup, map_status
from ticketbridge.errors import Conflict, VendorNotFound, VendorRejected
from ticketbridge.logging import get_logger

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraOptions

log = get_logger(__name__)

MAX_STEPS = 5
TARGET_CATEGORY: dict[str, str] = {
    "OPEN": "new",
    "TODO": "new",
    "IN_PROGRESS": "indeterminate",
    "IN_REVIEW": "indeterminate",
    "RESOLVED": "done",
    "CLOSED": "done",
}
# Workflows mostly run new -> indeterminate -> done: the distance guides exploration.
CATEGORY_ORDER = {"new": 0, "indeterminate": 1, "done": 2}


@dataclass(frozen=True, slots=True)
class Where:
    """A workflow: the issue's project (key or id) and issue type id."""

    project: str
    issue_type: str


@dataclass(frozen=True, slots=True)
class JiraStatus:
    id: str
    name: str
    category: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> JiraStatus:
        category = raw.get("statusCategory") or {}
        return cls(str(raw.get("id")), str(raw.get("name") or ""), str(category.get("key") or ""))


@dataclass(frozen=True, slots=True)
class Edge:
    id: str
    name: str
    to: JiraStatus
    required: tuple[str, ...] = ()  # "Name (field id)" of fields its screen requires


def where_of(raw: Mapping[str, Any]) -> Where:
    fields = raw.get("fields") or {}
    project = fields.get("project") or {}
    return Where(
        str(project.get("key") or project.get("id")), str((fields.get("issuetype") or {}).get("id"))
    )


def status_of(raw: Mapping[str, Any]) -> JiraStatus:
    return JiraStatus.from_json((raw.get("fields") or {}).get("status") or {})


def edge_from_json(raw: Mapping[str, Any]) -> Edge:
    required = tuple(
        f"{meta.get('name') or fid} ({fid})"
        for fid, meta in (raw.get("fields") or {}).items()
        if isinstance(meta, Mapping) and meta.get("required") and not meta.get("hasDefaultValue")
    )
    return Edge(
        str(raw.get("id")), str(raw.get("name") or ""), JiraStatus.from_json(raw["to"]), required
    )


def rank(status: JiraStatus, target: str, options: JiraOptions) -> int | None:
    """How well ``status`` satisfies ``target`` (0 best), ``None`` if it does not.

    The connection's mapping comes first; the status category is the fallback, so every one
    of the six statuses stays reachable whatever the mapping says: a status the mapping gives
    to another normalized status of the same category (``Done`` mapped to CLOSED, asked for
    RESOLVED) is still the last resort of its category.
    """
    explicit = lookup(options.status_mapping, status.name) if status.name else None
    if explicit == target:
        return 0
    if explicit is None and lookup(DEFAULT_STATUS_MAPPING, status.name) == target:
        return 0
    if status.category != TARGET_CATEGORY[target]:
        return None
    if explicit is not None:
        return 3
    return 1 if map_status(status.name, status.category, options) == target else 2


class WalkFailed(Conflict):
    """The requested status cannot be reached (409)."""


@dataclass
class Walk:
    """A status change under way: the first step is known (and possible) before it runs."""

    paths: StatusPaths
    key: str
    where: Where
    target: str
    goals: frozenset[str]
    current: JiraStatus
    first: Edge
    taken: list[Edge] = field(default_factory=list)

    async def run(self) -> list[Edge]:
        """Make the transitions; the edges taken (raises WalkFailed, naming where it is)."""
        visited = {self.current.id}
        edge = self.first
        while True:
            await self.paths.client.transition_issue(self.key, edge.id)
            self.taken.append(edge)
            self.current = edge.to
            visited.add(edge.to.id)
            if edge.to.id in self.goals:
                return self.taken
            if len(self.taken) >= MAX_STEPS:
                raise WalkFailed(
                    f"status {self.target} was not reached within {MAX_STEPS} transitions; "
                    f"{self.key} is now in {self.current.name!r}"
                )
            try:
                edge = await self.paths.next_edge(
                    self.key, self.where, self.current, self.goals, visited, self.target
                )
            except WalkFailed as exc:
                where = f"{self.key} is now in {self.current.name!r}"
                raise WalkFailed(f"{exc.message}; {where}") from None


class StatusPaths:
    """One operation's (request's or job's) knowledge of the workflows it has met."""

    def __init__(self, client: JiraClient, options: JiraOptions) -> None:
        self.client = client
        self.options = options
        self._statuses: dict[Where, list[JiraStatus] | None] = {}
        self._edges: dict[tuple[Where, str], list[Edge]] = {}

    def normalized(self, status: JiraStatus) -> str:
        return map_status(status.name, status.category, self.options)

    async def start(self, key: str, where: Where, current: JiraStatus, target: str) -> Walk | None:
        """``None`` when the issue is already there; else a walk whose first step is possible.
        Raises WalkFailed before anything changes when no status fits or the first step is
        blocked."""
        if rank(current, target, self.options) == 0:
            return None  # nothing fits better: no need to read the workflow
        direct = [
            e
            for e in await self.edges(key, where, current)
            if not e.required and rank(e.to, target, self.options) == 0
        ]
        if direct:  # one step to a best fit: shortest whatever the rest of the workflow is
            return Walk(
                self, key, where, target, frozenset(e.to.id for e in direct), current, direct[0]
            )
        statuses = await self.workflow_statuses(where)
        if statuses is None:  # the project's statuses are not readable: what leaves from here
            statuses = [e.to for e in await self.edges(key, where, current)]
        ranks: dict[str, int] = {}
        for status in (current, *statuses):
            found = rank(status, target, self.options)
            if found is not None:
                ranks[status.id] = found
        if not ranks:
            names = sorted({self.normalized(s) for s in statuses if s.id != current.id})
            raise WalkFailed(
                f"status {target} cannot be reached from {self.normalized(current)}; "
                f"reachable statuses: {', '.join(names) or 'none'}"
            )
        best = min(ranks.values())
        if ranks.get(current.id) == best:
            return None
        goals = frozenset(sid for sid, r in ranks.items() if r == best)
        first = await self.next_edge(key, where, current, goals, {current.id}, target)
        return Walk(self, key, where, target, goals, current, first)

    async def workflow_statuses(self, where: Where) -> list[JiraStatus] | None:
        if where not in self._statuses:
            self._statuses[where] = await self._fetch_statuses(where)
        return self._statuses[where]

    async def _fetch_statuses(self, where: Where) -> list[JiraStatus] | None:
        try:
            body = await self.client.project_statuses(where.project)
        except (VendorRejected, VendorNotFound) as exc:
            log.info("project_statuses_unavailable", project=where.project, error=exc.message)
            return None
        types = [t for t in body if str(t.get("id")) == where.issue_type] or body
        found: dict[str, JiraStatus] = {}
        for issue_type in types:
            for raw in issue_type.get("statuses") or []:
                status = JiraStatus.from_json(raw)
                found.setdefault(status.id, status)
        return list(found.values()) or None

    def remember(self, where: Where, status: JiraStatus, transitions: Any) -> None:
        """Keep transitions already read with the issue (``expand=transitions.fields``)."""
        if isinstance(transitions, list):
            self._edges.setdefault(
                (where, status.id),
                [edge_from_json(t) for t in transitions if t.get("isAvailable") is not False],
            )

    async def edges(self, key: str, where: Where, status: JiraStatus) -> list[Edge]:
        cached = self._edges.get((where, status.id))
        if cached is None:
            raw = await self.client.get_transitions(key, with_fields=True)
            cached = [edge_from_json(t) for t in raw if t.get("isAvailable") is not False]
            self._edges[(where, status.id)] = cached
        return cached

    async def next_edge(
        self,
        key: str,
        where: Where,
        current: JiraStatus,
        goals: frozenset[str],
        visited: set[str],
        target: str,
    ) -> Edge:
        edges = await self.edges(key, where, current)
        known = self._known_path(where, current, goals)
        if known is not None:
            return known
        blocked = [e for e in edges if e.required and e.to.id in goals]
        if blocked:
            raise self._blocked(target, current, blocked[0])
        unexplored = [e for e in edges if not e.required and e.to.id not in visited]
        if unexplored:
            return min(unexplored, key=lambda e: self._score(e, current, goals))
        blocked = [e for e in edges if e.required]
        if blocked:
            raise self._blocked(target, current, blocked[0])
        names = sorted({self.normalized(e.to) for e in edges})
        raise WalkFailed(
            f"status {target} cannot be reached from {self.normalized(current)} "
            f"({current.name!r}): no transition path; reachable statuses: "
            f"{', '.join(names) or 'none'}"
        )

    def _known_path(self, where: Where, start: JiraStatus, goals: frozenset[str]) -> Edge | None:
        """The first edge of a shortest path to a goal over the transitions read so far."""
        first: dict[str, Edge] = {}
        queue = deque([start.id])
        seen = {start.id}
        while queue:
            here = queue.popleft()
            for edge in self._edges.get((where, here), ()):
                if edge.required or edge.to.id in seen:
                    continue
                seen.add(edge.to.id)
                first[edge.to.id] = first.get(here, edge)
                if edge.to.id in goals:
                    return first[edge.to.id]
                queue.append(edge.to.id)
        return None

    def _score(self, edge: Edge, current: JiraStatus, goals: frozenset[str]) -> tuple[int, bool]:
        statuses = {s.id: s for ss in self._statuses.values() if ss for s in ss}
        wanted = {CATEGORY_ORDER.get(statuses[g].category, 1) for g in goals if g in statuses}
        here = CATEGORY_ORDER.get(edge.to.category, 1)
        distance = min((abs(here - w) for w in wanted), default=0)
        # Between equally close statuses, leaving the current category is progress in a
        # workflow that flows new -> indeterminate -> done (Resolved -> Reopened, not Closed).
        return distance, edge.to.category == current.category

    def _blocked(self, target: str, current: JiraStatus, edge: Edge) -> WalkFailed:
        return WalkFailed(
            f"status {target} needs the Jira transition {edge.name!r} "
            f"({current.name!r} -> {edge.to.name!r}), whose screen requires "
            f"{', '.join(edge.required)}; ticketbridge sets no transition fields: make the "
            "transition's fields optional or change the status in Jira"
        )
