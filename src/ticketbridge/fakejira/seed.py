"""Deterministic, realistic seed data.

``seed_site(site, SeedSpec(...))`` builds, from one ``random.Random(spec.seed)``: the admin
user plus ``spec.users`` people (international names, about 15% inactive), ``spec.projects``
projects (company- and team-managed), and the issues: epics, stories, tasks, bugs and sub-tasks
(sub-tasks always have a parent in their project, some stories/tasks/bugs belong to an epic),
unicode summaries (accents, CJK, emoji), rich ADF descriptions (headings, lists, code blocks,
links, mentions of real users), labels, priorities, due dates, unassigned issues, statuses with a
consistent resolution, and created/updated times spread over the year before ``spec.now_ms``
(default: the current UTC day at midnight, so a seed is stable for a day; pass ``now_ms`` for
full determinism). Issue ids grow with creation time, as in Jira.

The CLI's ``--seed N`` means N issues in total (:meth:`SeedSpec.for_total`, seeded by N).
It is fast (100k issues in a few seconds): issues are built directly, descriptions are drawn
from a pool of prebuilt ADF documents shared by reference (the emulator never mutates stored
ADF in place), and search documents are built lazily on first search.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .model import (
    BUG,
    CLOSED,
    DONE,
    EPIC,
    IN_PROGRESS,
    OPEN,
    RESOLUTIONS,
    RESOLVED,
    STORY,
    SUBTASK,
    TASK,
    TODO,
    WORKFLOWS,
    Issue,
    User,
)
from .text import adf_to_text

if TYPE_CHECKING:
    from .state import Site


@dataclass(frozen=True)
class SeedSpec:
    """What :func:`seed_site` builds: ``projects`` x ``issues_per_project`` issues."""

    projects: int = 3
    issues_per_project: int = 50
    users: int = 30
    seed: int = 1
    now_ms: int | None = None
    total_issues: int | None = None  # overrides projects * issues_per_project when set
    workflow: str = "default"  # of every seeded project: "default" or "classic"

    def __post_init__(self) -> None:
        if self.workflow not in WORKFLOWS:
            raise ValueError(f"unknown workflow {self.workflow!r}; known: {sorted(WORKFLOWS)}")

    @property
    def issue_count(self) -> int:
        if self.total_issues is not None:
            return self.total_issues
        return self.projects * self.issues_per_project

    @classmethod
    def for_total(
        cls, total_issues: int, seed: int | None = None, now_ms: int | None = None
    ) -> SeedSpec:
        """The CLI's ``--seed N``: exactly N issues, spread over a few projects, seeded by N."""
        projects = 2 if total_issues < 200 else 4 if total_issues < 10_000 else 6
        return cls(
            projects=projects,
            issues_per_project=-(-total_issues // projects),
            users=30,
            seed=total_issues if seed is None else seed,
            now_ms=now_ms,
            total_issues=total_issues,
        )


T = TypeVar("T")
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS

FIRST = [
    "José",
    "Zoë",
    "Åsa",
    "Lukas",
    "Amélie",
    "Mateo",
    "Priya",
    "Wei",
    "Yuki",
    "Olga",
    "Chidi",
    "Fatima",
    "Søren",
    "Ingrid",
    "Noah",
    "Ana",
    "Kenji",
    "Leïla",
    "Tomás",
    "Mia",
]
LAST = [
    "García",
    "Müller",
    "Öberg",
    "Novák",
    "Dubois",
    "Rossi",
    "Sharma",
    "Zhang",
    "Tanaka",
    "Ivanova",
    "Okafor",
    "Haddad",
    "Kjær",
    "Berg",
    "Smith",
    "Silva",
    "Suzuki",
    "Benali",
    "Fernández",
    "Nguyen",
]
CJK_NAMES = ["李伟", "王芳", "山田太郎", "佐藤花子", "김민준", "陈静"]
PROJECTS = [
    ("ACME", "Acme Platform"),
    ("OPS", "Operations"),
    ("WEB", "Web Storefront"),
    ("MOB", "Mobile Apps"),
    ("DATA", "Data Pipeline"),
    ("SEC", "Security"),
    ("HR", "People Team"),
    ("FIN", "Finance Systems"),
    ("SUP", "Customer Support"),
    ("INFRA", "Infrastructure"),
]
VERBS = [
    "Fix",
    "Investigate",
    "Improve",
    "Add",
    "Remove",
    "Refactor",
    "Document",
    "Migrate",
    "Optimise",
    "Review",
]
OBJECTS = [
    "crash when exporting the café menu",
    "login timeout on Safari",
    "invoice PDF rendering",
    "the naïve retry loop",
    "Zürich office VPN access",
    "search results pagination",
    "dark mode contrast",
    "the résumé upload form",
    "nightly backup job",
    "SSO for São Paulo team",
    "rate limiter metrics",
    "the piñata checkout flow",
]
INTL = [
    "导出报表时崩溃",
    "ログイン画面の不具合を修正",
    "결제 페이지 오류",
    "Améliorer la résolution des images",
    "Überprüfung der Zugriffsrechte",
    "Corregir traducción en español",
    "Исправить отчёт",
]
EMOJI = ["🚀", "🐛", "🔥", "✅", "☕", "📈", "🔒", "🎉"]
LABELS = [
    "backend",
    "frontend",
    "ux",
    "performance",
    "security",
    "customer-reported",
    "tech-debt",
    "regression",
    "i18n",
    "überprüfung",
    "api",
    "mobile",
    "デザイン",
]


def _name(rng: random.Random, i: int) -> tuple[str, str]:
    if i % 9 == 4:
        name = CJK_NAMES[i % len(CJK_NAMES)]
        return name, f"user{i}@example.com"
    first, last = rng.choice(FIRST), rng.choice(LAST)
    ascii_first = first.encode("ascii", "ignore").decode().lower() or "user"
    ascii_last = last.encode("ascii", "ignore").decode().lower() or "x"
    return f"{first} {last}", f"{ascii_first}.{ascii_last}{i}@example.com"


def _text(t: str, **marks: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": t}
    if marks.get("link"):
        node["marks"] = [{"type": "link", "attrs": {"href": marks["link"]}}]
    elif marks.get("strong"):
        node["marks"] = [{"type": "strong"}]
    return node


def _description(rng: random.Random, users: list[User]) -> dict[str, Any]:
    """One rich ADF document: heading, paragraph with mention and link, list, code block."""
    who = rng.choice(users)
    steps = rng.sample(
        [
            "Open the app",
            "Go to Settings → Billing",
            "Click “Export”",
            "Wait 30 s",
            "Reload the page",
            "Switch language to 日本語",
        ],
        3,
    )
    content: list[dict[str, Any]] = [
        {"type": "heading", "attrs": {"level": 2}, "content": [_text("Context")]},
        {
            "type": "paragraph",
            "content": [
                _text("Reported by "),
                {
                    "type": "mention",
                    "attrs": {"id": who.account_id, "text": "@" + who.display_name},
                },
                _text(" — see the "),
                _text("runbook", link="https://example.com/runbook"),
                _text(" for details. "),
                _text(rng.choice(["Urgent", "Low impact", "Flaky"]), strong=True),
                {"type": "emoji", "attrs": {"shortName": ":warning:", "text": "⚠️"}},
            ],
        },
        {
            "type": "orderedList",
            "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [_text(s)]}]}
                for s in steps
            ],
        },
    ]
    if rng.random() < 0.6:
        content.append(
            {
                "type": "codeBlock",
                "attrs": {"language": "python"},
                "content": [
                    _text(f"raise RuntimeError('code {rng.randint(100, 999)}: état invalide')")
                ],
            }
        )
    if rng.random() < 0.5:
        content.append(
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [_text(f"Affects {v}")]}],
                    }
                    for v in rng.sample(["iOS", "Android", "Chrome", "Firefox", "API v2"], 2)
                ],
            }
        )
    return {"type": "doc", "version": 1, "content": content}


def _summary(pick: Callable[[Sequence[str]], str], rand: Callable[[], float], kind: str) -> str:
    text = pick(INTL) if rand() < 0.2 else f"{pick(VERBS)} {pick(OBJECTS)}"
    if kind == EPIC.id:
        text = f"Epic: {text}"
    if rand() < 0.15:
        text = f"{text} {pick(EMOJI)}"
    return text


def seed_site(site: Site, spec: SeedSpec) -> None:
    """Populate an empty site (``site.reset(spec)`` calls this) deterministically."""
    rng = random.Random(spec.seed)
    now = spec.now_ms if spec.now_ms is not None else (int(time.time() * 1000) // DAY_MS) * DAY_MS
    admin = site.add_admin()
    people: list[User] = [admin]
    for i in range(spec.users):
        name, email = _name(rng, i)
        people.append(
            site.add_user(
                email,
                name,
                active=rng.random() >= 0.15,
                time_zone=rng.choice(
                    ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Etc/UTC"]
                ),
            )
        )
    active = [u.account_id for u in people if u.active]
    everyone = [u.account_id for u in people]
    projects = []
    for p in range(max(1, spec.projects)):
        key, name = PROJECTS[p] if p < len(PROJECTS) else (f"P{p}", f"Project {p}")
        projects.append(
            site.add_project(
                key,
                name,
                lead=rng.choice(active),
                simplified=p % 3 == 2,
                description=f"{name} — seeded by fakejira",
                workflow=spec.workflow,
            )
        )
    pool = [(d, adf_to_text(d)) for d in (_description(rng, people) for _ in range(40))]
    label_sets = [rng.sample(LABELS, k) for k in (1, 1, 2, 2, 2, 3) for _ in range(8)]
    due_dates = [_date(now + d * DAY_MS) for d in range(-90, 91)]
    total = spec.issue_count
    epics: dict[str, list[int]] = {p.id: [] for p in projects}
    standard: dict[str, list[int]] = {p.id: [] for p in projects}
    start = now - YEAR_MS
    step = YEAR_MS // max(total, 1)
    rand = rng.random

    # random.choice/randint cost ~1 us each; indexing with random() is 3x cheaper and
    # just as deterministic, which is what makes 100k issues take seconds, not tens of them.
    def pick(seq: Sequence[T]) -> T:
        return seq[int(rand() * len(seq))]

    def recent(ids: list[int], window: int) -> int:
        return ids[len(ids) - 1 - int(rand() * min(window, len(ids)))]

    resolutions = [r.id for r in RESOLUTIONS]
    points = [1, 2, 3, 5, 8, 13]
    next_id = site.next_issue_id
    classic = spec.workflow == "classic"
    for n in range(total):
        project = projects[n % len(projects)]
        pid = project.id
        created = start + n * step + int(rand() * step)
        roll = rand()
        parent_id = None
        if roll < 0.05 or not standard[pid] and roll < 0.5:
            kind = EPIC.id if roll < 0.05 else TASK.id
        elif roll < 0.2 and standard[pid]:
            kind, parent_id = SUBTASK.id, recent(standard[pid], 200)
        else:
            kind = STORY.id if roll < 0.5 else TASK.id if roll < 0.75 else BUG.id
            if epics[pid] and rand() < 0.3:
                parent_id = recent(epics[pid], 50)
        updated = created + int((now - created) * rand() ** 2)
        status_roll = rand()
        status = TODO if status_roll < 0.4 else IN_PROGRESS if status_roll < 0.65 else DONE
        resolution = resolution_date = None
        category_change = created
        if status is not TODO:
            category_change = created + (updated - created) // 2
        if classic:  # same draws, the classic workflow's statuses
            done = RESOLVED if status_roll < 0.85 else CLOSED
            status = OPEN if status is TODO else done if status is DONE else status
        if status.category is DONE.category:
            resolution = resolutions[0] if rand() < 0.9 else pick(resolutions[1:])
            resolution_date = category_change
        description, text = (None, "") if rand() < 0.15 else pick(pool)
        custom: dict[str, Any] = {}
        if kind == STORY.id:
            custom["customfield_10016"] = pick(points)
        if rand() < 0.1:
            custom["customfield_10030"] = f"CUST-{1000 + int(rand() * 9000)}"
        issue = Issue(
            id=next_id,
            key=f"{project.key}-{project.next_number}",
            project_id=pid,
            issuetype_id=kind,
            summary=_summary(pick, rand, kind),
            status_id=status.id,
            description=description,
            description_text=text,
            priority_id=pick("1223333344445"),
            labels=list(pick(label_sets)) if rand() < 0.6 else [],
            duedate=pick(due_dates) if rand() < 0.4 else None,
            assignee=None if rand() < 0.25 else pick(everyone),
            reporter=pick(active),
            parent_id=parent_id,
            resolution_id=resolution,
            resolutiondate=resolution_date,
            created=created,
            updated=updated,
            statuscategorychangedate=category_change,
            custom=custom,
        )
        project.next_number += 1
        next_id += 1
        site.insert(issue)
        if kind == EPIC.id:
            epics[pid].append(issue.id)
        elif kind != SUBTASK.id:
            standard[pid].append(issue.id)


def _date(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms / 1000))
