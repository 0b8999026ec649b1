"""Tenants (a Jira site, a ServiceNow instance) and the registry that picks one per request.

A :class:`Tenant` owns its data (the vendor's part), its :class:`~.faults.Faults` and its
:class:`~.faults.Stats`; :meth:`Tenant.reset` wipes the data (and, unless asked to keep them,
the faults and stats) and populates it again. A :class:`Tenants` registry maps a request's
``Host`` header to a tenant: ``<name><DOMAIN>[:port]`` (``acme.atlassian.net``) is tenant
``<name>``, any other host is the default tenant. A tenant appears on first use, populated like
every other (seeded if the registry was given a seed).

The emulators are single-threaded (routes run on the event loop), so nothing here locks.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from .faults import FaultConfig, Faults, Stats

DEFAULT_TENANT = "default"


class Tenant(ABC):
    """One tenant: ``name``, ``clock``, ``faults``, ``stats`` and the vendor's data, which
    :meth:`_wipe` (also run by the constructor) sets up empty and :meth:`_populate` fills."""

    faults_class: ClassVar[type[Faults[Any]]]
    stats_class: ClassVar[type[Stats]] = Stats

    def __init__(
        self,
        name: str,
        *,
        clock: Callable[[], float] | None = None,
        faults: FaultConfig | None = None,
    ) -> None:
        self.name = name
        self.clock: Callable[[], float] = clock or time.time
        self.faults = self.faults_class(faults)
        self.stats = self.stats_class()
        self._wipe()

    def reset(self, seed: Any = None, *, keep_faults: bool = False) -> None:
        """Wipe everything (faults and stats too, unless ``keep_faults``); then populate,
        deterministically from ``seed`` when given."""
        self._wipe()
        if not keep_faults:
            self.faults.configure({})
            self.stats.reset()
        self._populate(seed)

    @abstractmethod
    def _wipe(self) -> None: ...

    @abstractmethod
    def _populate(self, seed: Any) -> None: ...


T = TypeVar("T", bound=Tenant)


class Tenants(Generic[T]):
    """All tenants of one emulator, by name; ``seed`` populates each on first use and
    ``faults`` is each new tenant's initial fault configuration."""

    tenant_class: ClassVar[type[Tenant]]
    DOMAIN: ClassVar[str]  # ".atlassian.net"

    def __init__(
        self,
        *,
        seed: Any = None,
        faults: FaultConfig | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.seed = seed
        self.default_faults = faults
        self.clock = clock
        self.tenants: dict[str, T] = {}

    @classmethod
    def tenant_name(cls, host: str) -> str:
        """``<name><DOMAIN>[:port]`` -> ``<name>``; any other host -> the default tenant."""
        hostname = host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()
        if hostname.endswith(cls.DOMAIN) and hostname.count(".") == 2:
            return hostname.split(".", 1)[0]
        return DEFAULT_TENANT

    def tenant(self, host: str = DEFAULT_TENANT) -> T:
        """The tenant for a ``Host`` header value (or a tenant name), made on first use."""
        name = host if host in self.tenants else self.tenant_name(host)
        found = self.tenants.get(name)
        if found is None:
            made: Any = self.tenant_class(name, clock=self.clock, faults=self.default_faults)
            made.reset(self.seed, keep_faults=True)
            self.tenants[name] = found = made
        return found

    @property
    def default(self) -> T:
        return self.tenant(DEFAULT_TENANT)

    def all(self) -> Iterable[T]:
        return self.tenants.values()
