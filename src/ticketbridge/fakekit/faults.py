"""Fault injection and request statistics, per tenant (a Jira site, a ServiceNow instance).

The vendor-neutral half of each emulator's ``faults`` module: the fault dataclasses every
vendor shares, the JSON parsing of a fault configuration (``PUT /_fake/faults``), the live
fault state (:class:`Faults`: one seeded RNG, token buckets, counters of what was injected) and
:class:`Stats`. A vendor subclasses :class:`FaultConfig` (its own ``refuse`` fault with the
vendor's default texts, extra numbers such as fakejira's ``bulk_delay_ms``) and
:class:`Faults` (the headers of its 429). The order in which a pipeline asks is the vendor's;
both emulators ask latency, rate limit, error, refusal (:meth:`Faults.before`), then apply the
request and ask :meth:`Faults.ambiguous`.

Each fault may be limited by ``routes``: names of a :class:`RouteKey` (``"METHOD /template"``
or ``"/template"``, and the key's aliases). Randomness comes from one ``random.Random(seed)``
per tenant, so a test with a fixed ``seed`` is reproducible.
"""

from __future__ import annotations

import math
import random
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Generic, TypeVar


@dataclass
class RateLimitFault:
    share: float = 0.0
    per_second: float | None = None
    retry_after: int = 1
    routes: list[str] | None = None


@dataclass
class ErrorFault:
    share: float = 0.0
    status: int = 503
    routes: list[str] | None = None


@dataclass
class AmbiguousFault:
    share: float = 1.0
    mode: str = "5xx"
    status: int = 504
    count: int | None = None
    routes: list[str] | None = None


@dataclass
class FaultConfig:
    """The fault configuration common to every vendor; the JSON form is :meth:`to_json`.

    Subclasses declare ``refuse`` with their own dataclass (``REFUSE_FAULT``), may add number
    fields after it (listed in ``NUMBERS``) and name their ``routes`` in ``ROUTES_NOUN``.
    """

    NUMBERS: ClassVar[tuple[str, ...]] = ("seed", "latency_ms", "latency_jitter_ms")
    REFUSE_FAULT: ClassVar[type[Any]]
    ROUTES_NOUN: ClassVar[str] = "route templates"

    seed: int = 0
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    rate_limit: RateLimitFault | None = None
    error_rate: ErrorFault | None = None
    ambiguous: AmbiguousFault | None = None
    refuse: Any = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls: type[C], data: Mapping[str, Any]) -> C:
        """Parse the admin API's JSON; raises ``ValueError`` with a readable message."""
        if not isinstance(data, Mapping):
            raise ValueError("faults must be a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        numbers: dict[str, Any] = {name: _number(data, name) for name in cls.NUMBERS}
        config = cls(**numbers)
        noun = cls.ROUTES_NOUN
        if data.get("rate_limit") is not None:
            config.rate_limit = _build(RateLimitFault, data["rate_limit"], "rate_limit", noun)
        if data.get("error_rate") is not None:
            config.error_rate = _build(ErrorFault, data["error_rate"], "error_rate", noun)
            if not 500 <= config.error_rate.status <= 599:
                raise ValueError("error_rate.status must be a 5xx status")
        if data.get("ambiguous") is not None:
            config.ambiguous = _build(AmbiguousFault, data["ambiguous"], "ambiguous", noun)
            if config.ambiguous.mode not in ("5xx", "drop"):
                raise ValueError("ambiguous.mode must be '5xx' or 'drop'")
        if data.get("refuse") is not None:
            config.refuse = _build(cls.REFUSE_FAULT, data["refuse"], "refuse", noun)
            if not 400 <= config.refuse.status <= 499 or config.refuse.status == 429:
                raise ValueError("refuse.status must be a 4xx status other than 429")
        return config


C = TypeVar("C", bound=FaultConfig)


def _number(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return int(value)


def _build(cls: type[Any], data: Any, name: str, routes_noun: str) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{name} must be an object")
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {name} settings: {sorted(unknown)}")
    try:
        built = cls(**data)
    except TypeError as exc:
        raise ValueError(f"{name}: {exc}") from None
    share = getattr(built, "share", 0.0)
    if not isinstance(share, int | float) or not 0.0 <= share <= 1.0:
        raise ValueError(f"{name}.share must be between 0 and 1")
    routes = getattr(built, "routes", None)
    if routes is not None and (
        not isinstance(routes, list) or not all(isinstance(r, str) for r in routes)
    ):
        raise ValueError(f"{name}.routes must be a list of {routes_noun}")
    return built


class RouteKey:
    """How one request is named for statistics (``stat``) and fault matching (``names``).

    ``aliases`` are further templates a fault's ``routes`` may name it by (fakeservicenow's
    unversioned and table-generic forms); a ``batch_item`` is hit only by faults that name it.
    """

    __slots__ = ("aliases", "batch_item", "method", "stat", "template")

    def __init__(
        self, method: str, template: str, aliases: tuple[str, ...] = (), batch_item: bool = False
    ) -> None:
        self.method = method
        self.template = template
        self.aliases = aliases
        self.batch_item = batch_item
        self.stat = f"{'BATCH ' if batch_item else ''}{method} {template}"

    def names(self) -> Iterator[str]:
        for template in (self.template, *self.aliases):
            yield template
            yield f"{self.method} {template}"

    def hit_by(self, routes: list[str] | None) -> bool:
        if routes is None:
            return not self.batch_item
        return any(name in routes for name in self.names())


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass(frozen=True)
class Fired:
    """A fault that answers instead of the request (:meth:`Faults.before`)."""

    kind: str  # "rate_limited" | "error" | "refused"
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    refusal: Any = None  # the vendor's refuse fault, for its texts


class Faults(ABC, Generic[C]):
    """The live fault state of one tenant: configuration, RNG, token buckets, counters.

    Subclasses set ``config_class`` and answer :meth:`vendor_rate_limit_headers`.
    """

    config_class: type[C]

    def __init__(self, config: C | None = None) -> None:
        self.config: C = self.config_class()
        self.rng = random.Random(0)
        self.buckets: dict[str, _Bucket] = {}
        self.injected: Counter[str] = Counter()
        self.configure(config or self.config_class())

    def configure(self, config: C | Mapping[str, Any]) -> None:
        if not isinstance(config, FaultConfig):
            config = self.config_class.from_json(config)
        # Deep copy so a caller's config object (a default shared by tenants) never mutates.
        self.config = self.config_class.from_json(config.to_json())
        self.rng = random.Random(self.config.seed)
        self.buckets = {}
        self.injected = Counter()

    def latency_s(self) -> float:
        c = self.config
        jitter = self.rng.uniform(0, c.latency_jitter_ms) if c.latency_jitter_ms else 0.0
        return (c.latency_ms + jitter) / 1000

    def rate_limit_headers(self, retry_after: int, limit: int, *, burst: bool) -> dict[str, str]:
        """A 429's headers: ``Retry-After`` (whole seconds), ``X-RateLimit-Limit`` and
        ``-Remaining``, then the vendor's (:meth:`vendor_rate_limit_headers`)."""
        return {
            "Retry-After": str(int(retry_after)),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            **self.vendor_rate_limit_headers(retry_after, burst=burst),
        }

    @abstractmethod
    def vendor_rate_limit_headers(self, retry_after: int, *, burst: bool) -> dict[str, str]:
        """The vendor's own 429 headers (``burst``: the token bucket ran dry, else a
        ``share``): when the limit resets, and why."""

    def before(self, key: RouteKey) -> Fired | None:
        """The fault that answers instead of applying this request, if one fires: a 429,
        then a 5xx, then a refusal (each asked only if the one before did not fire)."""
        throttled = self.rate_limited(key)
        if throttled is not None:
            return Fired("rate_limited", 429, throttled)
        failure = self.error_status(key)
        if failure is not None:
            return Fired("error", failure)
        refusal = self.refused(key)
        if refusal is not None:
            return Fired("refused", refusal.status, refusal=refusal)
        return None

    def rate_limited(self, key: RouteKey, now: float | None = None) -> dict[str, str] | None:
        """The 429 headers if this request is throttled, else ``None``."""
        fault = self.config.rate_limit
        if fault is None or not key.hit_by(fault.routes):
            return None
        now = time.monotonic() if now is None else now
        if fault.per_second:
            rate = float(fault.per_second)
            bucket = self.buckets.setdefault(key.stat, _Bucket(rate, now))
            bucket.tokens = min(rate, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens < 1.0:
                wait = max(1, math.ceil((1.0 - bucket.tokens) / rate))
                self.injected["rate_limited"] += 1
                return self.rate_limit_headers(wait, int(math.ceil(rate)), burst=True)
            bucket.tokens -= 1.0
        if fault.share and self.rng.random() < fault.share:
            self.injected["rate_limited"] += 1
            return self.rate_limit_headers(fault.retry_after, 100, burst=False)
        return None

    def error_status(self, key: RouteKey) -> int | None:
        fault = self.config.error_rate
        if fault is not None and self._fires(fault, key):
            self.injected["errors"] += 1
            return fault.status
        return None

    def refused(self, key: RouteKey) -> Any:
        """The vendor's refuse fault if it answers instead of applying this request."""
        fault = self.config.refuse
        if fault is not None and self._fires(fault, key):
            self.injected["refused"] += 1
            return fault
        return None

    def ambiguous(self, key: RouteKey) -> AmbiguousFault | None:
        """The ambiguous fault to apply after this (successful) request, if it fires."""
        fault = self.config.ambiguous
        if fault is not None and self._fires(fault, key):
            self.injected[f"ambiguous_{fault.mode}"] += 1
            return fault
        return None

    def _fires(self, fault: Any, key: RouteKey) -> bool:
        """Whether ``fault`` hits this request: its routes, its ``count`` left (a fault
        without ``count`` is unlimited), then its ``share`` drawn from the tenant's RNG."""
        if not key.hit_by(fault.routes):
            return False
        count = getattr(fault, "count", None)
        if count is not None and count <= 0:
            return False
        if fault.share and self.rng.random() < fault.share:
            if count is not None:
                fault.count = count - 1
            return True
        return False


@dataclass
class Stats:
    """Request counts per :attr:`RouteKey.stat`, per status, and in total."""

    routes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    total: int = 0

    def record(self, key: str, status: int) -> None:
        self.routes[key] += 1
        self.statuses[str(status)] += 1
        self.total += 1

    def reset(self) -> None:
        self.routes = Counter()
        self.statuses = Counter()
        self.total = 0

    def to_json(self, faults: Faults[Any]) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.routes.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "total": self.total,
            **self._extra(),
            "faults": dict(faults.injected),
        }

    def _extra(self) -> dict[str, Any]:
        return {}


@dataclass
class ConcurrencyStats(Stats):
    """:class:`Stats` plus the requests being served now and the most at once since the last
    reset (``peak_in_flight``): what a client's concurrency limit looks like from the vendor's
    side. The pipeline calls :meth:`started` and :meth:`finished` around each request."""

    in_flight: int = 0
    peak_in_flight: int = 0

    def started(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def finished(self) -> None:
        self.in_flight -= 1

    def reset(self) -> None:
        super().reset()
        self.peak_in_flight = self.in_flight

    def _extra(self) -> dict[str, Any]:
        return {"peak_in_flight": self.peak_in_flight}
