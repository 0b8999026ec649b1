"""Emulator state: instances, and per instance its tables, records, users and tokens.

A :class:`FakeServiceNowState` holds any number of :class:`Instance` objects, chosen by the
request's ``Host`` header: ``dev12345.service-now.com`` is instance ``dev12345``; any other
host (``127.0.0.1:8082``, ``testserver``) is the default instance. An instance appears on first
use, bootstrapped (or seeded, if the state was given a seed) like every other.

Every instance starts with the roles ``admin`` and ``itil``, the users ``admin`` (role admin) and
``integration`` (role itil), both with password ``fake-password`` (:data:`DEFAULT_ADMIN_USER`,
:data:`DEFAULT_INTEGRATION_USER`, :data:`DEFAULT_PASSWORD`), the OAuth client
``fake-client-id`` / ``fake-client-secret`` (client credentials act as ``integration``) and the
default choice lists. Records are dicts of strings keyed by column name.

The Python API (``instance.insert(...)``, ``instance.get(...)``, ``instance.delete(...)``) is
for in-process tests; the emulator is single-threaded (routes run on the event loop).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ticketbridge.fakekit.tenants import DEFAULT_TENANT, Tenant, Tenants

from . import choices, rules
from .errors import invalid_table, no_record
from .faults import FaultConfig, Faults, Stats
from .schema import REFERENCE, TASK_TABLES, Table, default_tables
from .seed import SeedSpec, seed_instance
from .values import format_time

DEFAULT_ADMIN_USER = "admin"
DEFAULT_INTEGRATION_USER = "integration"
DEFAULT_PASSWORD = "fake-password"
DEFAULT_CLIENT_ID = "fake-client-id"
DEFAULT_CLIENT_SECRET = "fake-client-secret"
DEFAULT_INSTANCE = DEFAULT_TENANT
FIRST_NUMBER = 10001
TOKEN_TTL_S = 1800
BATCH_MAX_REQUESTS = 1000
WRITE_ROLES = frozenset({"admin", "itil"})


@dataclass
class Token:
    user_sys_id: str
    expires_at: float
    refresh: bool = False


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    user_name: str  # the user client-credentials tokens act as


class Instance(Tenant):
    """One ServiceNow instance (``<name>.service-now.com``) with its own data and faults."""

    faults_class = Faults
    faults: Faults
    stats_class = Stats
    stats: Stats

    # -- lifecycle -----------------------------------------------------------------------------
    def _wipe(self) -> None:
        self.tables: dict[str, Table] = default_tables()
        self.records: dict[str, dict[str, dict[str, str]]] = {name: {} for name in self.tables}
        self.numbers: dict[str, int] = {}
        self.tokens: dict[str, Token] = {}
        self.clients: dict[str, OAuthClient] = {}
        self.rng = random.Random()
        self._choice_labels: dict[tuple[str, str, str], str] | None = None
        self._users_by_name: dict[str, str] = {}
        self.properties: dict[str, str] = {"glide.invalid_query.returns_no_rows": "false"}
        self.batch_max_requests = BATCH_MAX_REQUESTS

    def bootstrap(self) -> None:
        """A fresh instance: roles, the admin and integration users, choices, an OAuth client."""
        for role in ("admin", "itil"):
            self.insert("sys_user_role", {"name": role, "description": f"The {role} role"})
        self.add_user(DEFAULT_ADMIN_USER, "System Administrator", roles=("admin",))
        self.add_user(DEFAULT_INTEGRATION_USER, "Integration User", roles=("itil",))
        for row in choices.default_rows():
            self.insert("sys_choice", row)
        self.add_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_INTEGRATION_USER)

    def reset(self, seed: SeedSpec | None = None, *, keep_faults: bool = False) -> None:
        """Wipe everything; bootstrap; then seed deterministically from ``seed`` if given."""
        super().reset(seed, keep_faults=keep_faults)

    def _populate(self, seed: SeedSpec | None) -> None:
        if seed is not None:
            self.rng = random.Random(seed.seed)
        self.bootstrap()
        if seed is not None:
            seed_instance(self, seed)

    def now(self) -> str:
        return format_time(self.clock())

    def new_sys_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    # -- tables ------------------------------------------------------------------------------
    def table(self, name: str) -> Table:
        found = self.tables.get(name)
        if found is None:
            raise invalid_table(name)
        return found

    def rows(self, table: str) -> Iterable[dict[str, str]]:
        return self.records[table].values()

    def count(self, table: str) -> int:
        return len(self.records[table])

    def get(self, table: str, sys_id: str) -> dict[str, str] | None:
        """A stored record (the live dict: do not mutate), or ``None``."""
        if table == "task":
            return self.find_task(sys_id)
        return self.records.get(table, {}).get(sys_id)

    def find_task(self, sys_id: str) -> dict[str, str] | None:
        for name in TASK_TABLES:
            found = self.records[name].get(sys_id)
            if found is not None:
                return found
        return None

    def require(self, table: str, sys_id: str) -> dict[str, str]:
        found = self.get(table, sys_id)
        if found is None:
            raise no_record()
        return found

    def next_number(self, table: Table) -> str:
        prefix = table.number_prefix or ""
        value = self.numbers.get(prefix, FIRST_NUMBER)
        self.numbers[prefix] = value + 1
        return f"{prefix}{value:07d}"

    # -- writes ------------------------------------------------------------------------------
    def insert(
        self,
        table_name: str,
        values: Mapping[str, str],
        *,
        user: str | None = None,
        at: str | None = None,
    ) -> dict[str, str]:
        """Store a new record: defaults, system columns and business rules applied."""
        table = self.table(table_name)
        now = at or self.now()
        record = {name: column.default for name, column in table.columns.items()}
        record.update({k: v for k, v in values.items() if k in table.columns})
        record["sys_id"] = values.get("sys_id") or self.new_sys_id()
        if record["sys_id"] in self.records[table_name]:
            raise rules_duplicate(record["sys_id"])
        user_sys_id = self._user_sys_id(user)
        rules.before_save(self, table, record, None, user_sys_id, now)
        record["sys_created_on"] = record["sys_updated_on"] = now
        record["sys_created_by"] = record["sys_updated_by"] = user or "system"
        record["sys_mod_count"] = "0"
        self.records[table_name][record["sys_id"]] = record
        self._indexed(table_name, record)
        return record

    def update(
        self,
        table_name: str,
        sys_id: str,
        values: Mapping[str, str],
        *,
        user: str | None = None,
        at: str | None = None,
    ) -> dict[str, str]:
        """Apply ``values``; a save that changes nothing leaves the record (and its
        ``sys_updated_on``) untouched, as ServiceNow skips a no-op update."""
        table = self.table(table_name)
        current = self.require(table_name, sys_id)
        now = at or self.now()
        record = dict(current)
        record.update({k: v for k, v in values.items() if k in table.columns})
        for name in table.columns:
            record.setdefault(name, table.columns[name].default)
        rules.before_save(self, table, record, current, self._user_sys_id(user), now)
        if record == current:
            return current
        record["sys_updated_on"] = now
        record["sys_updated_by"] = user or "system"
        record["sys_mod_count"] = str(int(current.get("sys_mod_count") or "0") + 1)
        self.records[table_name][sys_id] = record
        self._indexed(table_name, record)
        return record

    def delete(self, table_name: str, sys_id: str, *, user: str | None = None) -> None:
        table = self.table(table_name)
        record = self.require(table_name, sys_id)
        del self.records[table_name][sys_id]
        if table_name == "sys_choice":
            self._choice_labels = None
        self.insert(
            "sys_audit_delete",
            {
                "tablename": table_name,
                "documentkey": sys_id,
                "display_value": record.get(table.display, ""),
            },
            user=user,
        )

    def _indexed(self, table: str, record: dict[str, str]) -> None:
        if table == "sys_choice":
            self._choice_labels = None
        elif table == "sys_user":
            self._users_by_name = {
                r["user_name"]: r["sys_id"] for r in self.records["sys_user"].values()
            }

    # -- users, roles, OAuth -----------------------------------------------------------------
    def add_user(
        self,
        user_name: str,
        name: str | None = None,
        *,
        password: str | None = DEFAULT_PASSWORD,
        roles: Iterable[str] = (),
        email: str | None = None,
        active: bool = True,
        **extra: str,
    ) -> dict[str, str]:
        first, _, last = (name or user_name).partition(" ")
        user = self.insert(
            "sys_user",
            {
                "user_name": user_name,
                "name": name or user_name,
                "first_name": first,
                "last_name": last,
                "email": email if email is not None else f"{user_name}@example.com",
                "active": "true" if active else "false",
                "user_password": password or "",
                **extra,
            },
        )
        for role in roles:
            self.grant(user["sys_id"], role)
        return user

    def grant(self, user_sys_id: str, role: str) -> None:
        role_id = next((r["sys_id"] for r in self.rows("sys_user_role") if r["name"] == role), None)
        if role_id is None:
            role_id = self.insert("sys_user_role", {"name": role})["sys_id"]
        self.insert("sys_user_has_role", {"user": user_sys_id, "role": role_id})

    def add_group(self, name: str, *, members: Iterable[str] = (), **extra: str) -> dict[str, str]:
        group = self.insert("sys_user_group", {"name": name, **extra})
        for member in members:
            self.insert("sys_user_grmember", {"user": member, "group": group["sys_id"]})
        return group

    def user_by_name(self, user_name: str) -> dict[str, str] | None:
        sys_id = self._users_by_name.get(user_name)
        return self.records["sys_user"].get(sys_id) if sys_id else None

    def _user_sys_id(self, user_name: str | None) -> str:
        found = self.user_by_name(user_name) if user_name else None
        return found["sys_id"] if found else ""

    def roles_of(self, user_sys_id: str) -> set[str]:
        role_names = {r["sys_id"]: r["name"] for r in self.rows("sys_user_role")}
        return {
            role_names.get(r["role"], "")
            for r in self.rows("sys_user_has_role")
            if r["user"] == user_sys_id and r.get("state", "active") == "active"
        }

    def can_write(self, user: dict[str, str]) -> bool:
        return bool(self.roles_of(user["sys_id"]) & WRITE_ROLES)

    def is_admin(self, user: dict[str, str]) -> bool:
        return "admin" in self.roles_of(user["sys_id"])

    def authenticate(self, user_name: str, password: str) -> dict[str, str] | None:
        user = self.user_by_name(user_name)
        if user is None or user.get("active") != "true" or user.get("locked_out") == "true":
            return None
        stored = user.get("user_password", "")
        return user if stored and secrets.compare_digest(stored, password) else None

    def add_client(self, client_id: str, client_secret: str, user_name: str) -> OAuthClient:
        client = OAuthClient(client_id, client_secret, user_name)
        self.clients[client_id] = client
        return client

    def issue_token(self, user_sys_id: str, *, refresh: bool = False) -> str:
        token = secrets.token_urlsafe(48)
        ttl = TOKEN_TTL_S * (50 if refresh else 1)
        self.tokens[token] = Token(user_sys_id, self.clock() + ttl, refresh)
        return token

    def token_user(self, token: str, *, refresh: bool = False) -> dict[str, str] | None:
        found = self.tokens.get(token)
        if found is None or found.refresh != refresh or found.expires_at <= self.clock():
            return None
        user = self.records["sys_user"].get(found.user_sys_id)
        return user if user is not None and user.get("active") == "true" else None

    def expire_tokens(self) -> None:
        """Every issued access token expires now (tests of token refresh)."""
        for token in self.tokens.values():
            if not token.refresh:
                token.expires_at = 0.0

    # -- display values and choices ----------------------------------------------------------
    def choice_label(self, table: str, element: str, value: str) -> str | None:
        labels = self._choice_labels
        if labels is None:
            labels = self._choice_labels = {
                (r["name"], r["element"], r["value"]): r["label"]
                for r in self.rows("sys_choice")
                if r.get("inactive") != "true"
            }
        return labels.get((table, element, value))

    def choice_value(self, table: str, element: str, label_or_value: str) -> str:
        """The stored value for a choice given by label (case-insensitive) or by value."""
        wanted = label_or_value.strip().lower()
        for row in self.rows("sys_choice"):
            if row["name"] == table and row["element"] == element:
                if row["label"].lower() == wanted:
                    return row["value"]
        return label_or_value

    def display_of(self, table: str, sys_id: str) -> str:
        """The display value of a referenced record ("" when it does not exist)."""
        record = self.get(table, sys_id)
        if record is None:
            return ""
        definition = self.tables.get(record.get("sys_class_name", "") or table)
        definition = definition or self.tables.get(table)
        field = definition.display if definition else "sys_id"
        return record.get(field, "")

    def reference_by_display(self, table: str, text: str) -> str | None:
        if table == "task":
            candidates: Iterator[dict[str, str]] = (
                r for name in TASK_TABLES for r in self.rows(name)
            )
            field = "number"
        else:
            definition = self.tables.get(table)
            if definition is None:
                return None
            if text in self.records[table]:
                return text
            candidates = iter(self.rows(table))
            field = definition.display
        for record in candidates:
            if record.get(field) == text or record.get("sys_id") == text:
                return record["sys_id"]
        if table == "sys_user":
            found = self.user_by_name(text)
            return found["sys_id"] if found else None
        return None

    def reference_table(self, table: str, column: str) -> str | None:
        definition = self.tables.get(table)
        found = definition.column(column) if definition else None
        return found.reference if found is not None and found.kind == REFERENCE else None


def rules_duplicate(sys_id: str) -> Exception:
    from .errors import SnowError

    return SnowError(403, "Operation Failed", f"Error during insert of record with sys_id {sys_id}")


class FakeServiceNowState(Tenants[Instance]):
    """All instances of one emulator.

    ``seed`` (a :class:`SeedSpec`, or an int meaning "that many incidents") seeds every
    instance when it is first used; ``faults`` is every new instance's fault configuration.
    """

    tenant_class = Instance
    DOMAIN = ".service-now.com"

    def __init__(
        self,
        *,
        seed: SeedSpec | int | None = None,
        faults: FaultConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        spec = SeedSpec(incidents=seed, seed=seed) if isinstance(seed, int) else seed
        super().__init__(seed=spec, faults=faults, clock=clock)
        self.seed: SeedSpec | None = spec

    @property
    def instances(self) -> dict[str, Instance]:
        return self.tenants

    @staticmethod
    def instance_name(host: str) -> str:
        """``dev1.service-now.com[:443]`` -> ``dev1``; any other host -> the default."""
        return FakeServiceNowState.tenant_name(host)

    # The vendor's names for the registry's (no call in between on the request path).
    instance = Tenants.tenant
    all_instances = Tenants.all


def describe(instance: Instance) -> dict[str, Any]:
    return {
        "instance": instance.name,
        "tables": {name: instance.count(name) for name in sorted(instance.tables)},
    }
