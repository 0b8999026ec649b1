"""Deterministic seed data: people with the itil role, assignment groups, incidents.

``seed_instance(instance, SeedSpec(...))`` builds, from the instance's RNG (seeded with
``spec.seed``): ``spec.users`` people (international names, about 10% inactive, most with the
``itil`` role), ``spec.groups`` assignment groups with members, and ``spec.incidents``
incidents in every state (resolved and closed ones with close code and notes), with impact and
urgency (so priority), categories, callers, assignees and groups (some unassigned), a few child
incidents (``parent_incident``), unicode short descriptions, and created/updated times spread
over the 90 days before ``spec.now_ms`` (default: today at midnight UTC, so a seed is stable
for a day). Numbers grow with creation time, as on an instance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .values import format_time

if TYPE_CHECKING:
    from .state import Instance

DAY_S = 86_400
FIRST = [
    "Abel",
    "Beth",
    "Chloé",
    "Dmitri",
    "Eun-ji",
    "Fatima",
    "Giulia",
    "Hiro",
    "Ines",
    "Jonas",
    "Kwame",
    "Lena",
    "Marta",
    "Nikolai",
    "Olga",
    "Priya",
    "Quentin",
    "Rosa",
    "Søren",
    "Tariq",
]
LAST = [
    "Tuter",
    "Anglin",
    "Dubois",
    "Ivanov",
    "Kim",
    "Haddad",
    "Rossi",
    "Tanaka",
    "García",
    "Berg",
    "Mensah",
    "Schmidt",
    "Nowak",
    "Petrov",
    "Kowalska",
    "Sharma",
    "Lefèvre",
    "Díaz",
    "Jørgensen",
    "Rahman",
]
GROUPS = [
    "Service Desk",
    "Network",
    "Database",
    "Hardware",
    "Software",
    "Security Ops",
    "Application Support",
    "Field Services",
]
SUBJECTS = {
    "inquiry": [
        "How do I reset my password?",
        "Request for access to the wiki",
        "Question about the VPN policy",
        "Où est le formulaire de congés ?",
    ],
    "software": [
        "Email client crashes on start",
        "Cannot open the SAP client",
        "Excel macros disabled after update",
        "ブラウザが起動しない",
    ],
    "hardware": [
        "Laptop battery swollen",
        "Printer on floor 3 jams",
        "Monitor flickers 🖥️",
        "Docking station not detected",
    ],
    "network": [
        "Wi-Fi drops in meeting room B",
        "VPN disconnects every hour",
        "DNS resolution slow for intranet",
        "Switch occasionally drops connections",
    ],
    "database": [
        "Reporting DB at 95% disk",
        "Slow queries on orders table",
        "Backup job failed overnight",
        "Replication lag on replica 2",
    ],
}
STATES = ["1"] * 5 + ["2"] * 5 + ["3"] * 2 + ["6"] * 3 + ["7"] * 4 + ["8"]
CLOSE_CODES = [
    "Solution provided",
    "Workaround provided",
    "Resolved by caller",
    "User error",
    "Duplicate",
    "Known error",
]


@dataclass(frozen=True)
class SeedSpec:
    incidents: int = 300
    users: int = 20
    groups: int = 5
    seed: int = 1
    now_ms: int | None = None


def _now_s(spec: SeedSpec) -> int:
    if spec.now_ms is not None:
        return spec.now_ms // 1000
    return int(time.time()) // DAY_S * DAY_S


def seed_instance(instance: Instance, spec: SeedSpec) -> None:
    rng = instance.rng
    now_s = _now_s(spec)
    people: list[str] = []
    for n in range(spec.users):
        first, last = FIRST[n % len(FIRST)], LAST[(n * 7 + n // len(FIRST)) % len(LAST)]
        user_name = f"{first}.{last}{n // len(FIRST) or ''}".lower()
        active = rng.random() > 0.1
        user = instance.add_user(
            user_name,
            f"{first} {last}",
            password=None,
            roles=("itil",) if rng.random() < 0.85 else (),
            active=active,
            title=rng.choice(["Analyst", "Engineer", "Technician", "Manager", ""]),
        )
        if active:
            people.append(user["sys_id"])
    groups = []
    for n in range(spec.groups):
        members = rng.sample(people, k=min(len(people), rng.randint(2, 5)))
        name = GROUPS[n % len(GROUPS)] + (f" {n // len(GROUPS) + 1}" if n >= len(GROUPS) else "")
        groups.append(
            instance.add_group(
                name,
                members=members,
                manager=members[0] if members else "",
                description=f"{name} team",
            )["sys_id"]
        )
    span = 90 * DAY_S
    created = sorted(now_s - rng.randint(DAY_S, span) for _ in range(spec.incidents))
    incidents: list[str] = []
    for n, created_s in enumerate(created):
        category = rng.choice(list(SUBJECTS))
        state = rng.choice(STATES)
        values = {
            "short_description": rng.choice(SUBJECTS[category]) + f" (#{n + 1})",
            "description": f"Reported via the portal.\nSeeded incident {n + 1}.",
            "category": category,
            "impact": str(rng.randint(1, 3)),
            "urgency": str(rng.randint(1, 3)),
            "state": state,
            "caller_id": rng.choice(people) if people else "",
            "assigned_to": rng.choice(people) if people and rng.random() < 0.7 else "",
            "assignment_group": rng.choice(groups) if groups and rng.random() < 0.8 else "",
            "contact_type": rng.choice(["email", "phone", "self-service"]),
        }
        if state in ("6", "7"):
            values["close_code"] = rng.choice(CLOSE_CODES)
            values["close_notes"] = "Fixed and confirmed with the caller."
        if incidents and rng.random() < 0.05:
            values["parent_incident"] = rng.choice(incidents)
        stamp = format_time(created_s)
        record = instance.insert("incident", values, user="admin", at=stamp)
        updated_s = min(now_s, created_s + rng.randint(0, 10 * DAY_S))
        record["sys_updated_on"] = format_time(updated_s)
        record["sys_mod_count"] = str(rng.randint(0, 6))
        incidents.append(record["sys_id"])
