"""Fault injection and request statistics, per instance.

Configured at start-up (``FakeServiceNowState(faults=FaultConfig(...))``) or at run time with
``PUT /_fake/faults`` (the JSON form of :class:`FaultConfig`; a PUT replaces the whole
configuration). Faults apply to the ServiceNow routes only, never to ``/_fake``; in order:

1. ``latency_ms`` + a uniform random ``latency_jitter_ms`` before anything else;
2. ``rate_limit``: ``{"share": 0.3}`` answers that share of requests 429 at random, and/or
   ``{"per_second": N}`` runs a token bucket (capacity N, refilled N/s) per route. A 429 carries
   an integer ``Retry-After`` and ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``,
   ``X-RateLimit-Reset`` (epoch seconds) and ``X-RateLimit-Rule`` like a ServiceNow rate limit
   rule answers;
3. ``error_rate``: ``{"share": 0.2, "status": 503}`` answers that share with a 5xx *before*
   the request is applied;
4. ``refuse``: ``{"status": 403, "message": "...", "share": 1.0}`` answers a 4xx *before* the
   request is applied (an ACL, a switched-off plugin);
5. ``ambiguous``: ``{"share": 1.0, "mode": "5xx"|"drop", "status": 504, "count": N}`` lets the
   request be applied and then answers a 5xx (``5xx``) or drops the connection without a
   response (``drop``). ``count`` limits how many times it fires.

Every fault accepts ``routes``: a list of route keys it is limited to, each
``"METHOD /api/now/table/incident"``, ``"/api/now/table/incident/{sys_id}"`` (any method) or
the table-generic ``"/api/now/table/{table}"``; the versioned forms (``/api/now/v2/...``)
match the unversioned keys too. Items of a Batch API request are subject to a fault only when
that fault names their route in ``routes`` (a fault without ``routes`` hits the batch call
itself). Randomness comes from one ``random.Random(seed)`` per instance.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

RATE_LIMIT_RULE = "b7c2e5a1c3a310104f7a2b1c4d5e6f70"


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
class RefuseFault:
    share: float = 1.0
    status: int = 403
    message: str = "Operation Failed"
    detail: str = "ACL Exception Failed due to security constraints"
    routes: list[str] | None = None


@dataclass
class FaultConfig:
    seed: int = 0
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    rate_limit: RateLimitFault | None = None
    error_rate: ErrorFault | None = None
    ambiguous: AmbiguousFault | None = None
    refuse: RefuseFault | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Parse the admin API's JSON; raises ``ValueError`` with a readable message."""
        if not isinstance(data, Mapping):
            raise ValueError("faults must be a JSON object")
        known = {
            "seed",
            "latency_ms",
            "latency_jitter_ms",
            "rate_limit",
            "error_rate",
            "ambiguous",
            "refuse",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        config = cls(
            seed=_number(data, "seed", 0),
            latency_ms=_number(data, "latency_ms", 0),
            latency_jitter_ms=_number(data, "latency_jitter_ms", 0),
        )
        if data.get("rate_limit") is not None:
            config.rate_limit = _build(RateLimitFault, data["rate_limit"], "rate_limit")
        if data.get("error_rate") is not None:
            config.error_rate = _build(ErrorFault, data["error_rate"], "error_rate")
            if not 500 <= config.error_rate.status <= 599:
                raise ValueError("error_rate.status must be a 5xx status")
        if data.get("ambiguous") is not None:
            config.ambiguous = _build(AmbiguousFault, data["ambiguous"], "ambiguous")
            if config.ambiguous.mode not in ("5xx", "drop"):
                raise ValueError("ambiguous.mode must be '5xx' or 'drop'")
        if data.get("refuse") is not None:
            config.refuse = _build(RefuseFault, data["refuse"], "refuse")
            if not 400 <= config.refuse.status <= 499 or config.refuse.status == 429:
                raise ValueError("refuse.status must be a 4xx status other than 429")
        return config


def _number(data: Mapping[str, Any], name: str, default: int) -> int:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return int(value)


def _build(cls: type[Any], data: Any, name: str) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{name} must be an object")
    unknown = set(data) - set(cls.__dataclass_fields__)
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
        raise ValueError(f"{name}.routes must be a list of route keys")
    return built


@dataclass(frozen=True)
class RouteKey:
    """How one request is named for statistics and fault matching."""

    method: str
    template: str  # as requested, e.g. /api/now/v2/table/incident/{sys_id}
    aliases: tuple[str, ...] = ()  # unversioned and table-generic forms
    batch_item: bool = False

    @property
    def stat(self) -> str:
        return f"{'BATCH ' if self.batch_item else ''}{self.method} {self.template}"

    def names(self) -> Iterable[str]:
        for template in (self.template, *self.aliases):
            yield template
            yield f"{self.method} {template}"


def _applies(routes: list[str] | None, key: RouteKey) -> bool:
    if routes is None:
        return not key.batch_item
    return any(name in routes for name in key.names())


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Faults:
    """The live fault state of one instance: configuration, RNG, token buckets, counters."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = FaultConfig()
        self.rng = random.Random(0)
        self.buckets: dict[str, _Bucket] = {}
        self.injected: Counter[str] = Counter()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig | Mapping[str, Any]) -> None:
        if not isinstance(config, FaultConfig):
            config = FaultConfig.from_json(config)
        # Deep copy so a caller's config object (a default shared by instances) never mutates.
        self.config = FaultConfig.from_json(config.to_json())
        self.rng = random.Random(self.config.seed)
        self.buckets = {}
        self.injected = Counter()

    def latency_s(self) -> float:
        c = self.config
        jitter = self.rng.uniform(0, c.latency_jitter_ms) if c.latency_jitter_ms else 0.0
        return (c.latency_ms + jitter) / 1000

    def rate_limited(self, key: RouteKey, now: float | None = None) -> dict[str, str] | None:
        """The 429 headers if this request is throttled, else ``None``."""
        fault = self.config.rate_limit
        if fault is None or not _applies(fault.routes, key):
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
                return self._headers(wait, int(math.ceil(rate)))
            bucket.tokens -= 1.0
        if fault.share and self.rng.random() < fault.share:
            self.injected["rate_limited"] += 1
            return self._headers(fault.retry_after, 100)
        return None

    @staticmethod
    def _headers(retry_after: int, limit: int) -> dict[str, str]:
        return {
            "Retry-After": str(int(retry_after)),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + int(retry_after)),
            "X-RateLimit-Rule": RATE_LIMIT_RULE,
        }

    def error_status(self, key: RouteKey) -> int | None:
        fault = self.config.error_rate
        if fault is None or not _applies(fault.routes, key):
            return None
        if fault.share and self.rng.random() < fault.share:
            self.injected["errors"] += 1
            return fault.status
        return None

    def refused(self, key: RouteKey) -> RefuseFault | None:
        fault = self.config.refuse
        if fault is None or not _applies(fault.routes, key):
            return None
        if fault.share and self.rng.random() < fault.share:
            self.injected["refused"] += 1
            return fault
        return None

    def ambiguous(self, key: RouteKey) -> AmbiguousFault | None:
        """The ambiguous fault to apply after this (successful) request, if it fires."""
        fault = self.config.ambiguous
        if fault is None or not _applies(fault.routes, key):
            return None
        if fault.count is not None and fault.count <= 0:
            return None
        if fault.share and self.rng.random() < fault.share:
            if fault.count is not None:
                fault.count -= 1
            self.injected[f"ambiguous_{fault.mode}"] += 1
            return fault
        return None


@dataclass
class Stats:
    """Request counts per ``"METHOD /route"``, per status, and in total."""

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

    def to_json(self, faults: Faults) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.routes.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "total": self.total,
            "faults": dict(faults.injected),
        }
