"""Fault injection and request statistics, per site.

Configured at start-up (``FakeJiraState(faults=FaultConfig(...))``) or at run time with
``PUT /_fake/faults`` (the JSON form of :class:`FaultConfig`; a PUT replaces the whole
configuration). Faults apply to Jira routes only, never to ``/_fake``; in order:

1. ``latency_ms`` + a uniform random ``latency_jitter_ms`` before anything else;
2. ``rate_limit``: ``{"share": 0.3}`` answers that share of requests 429 at random, and/or
   ``{"per_second": N}`` runs a token bucket (capacity N, refilled N/s) per route template, so
   one hot endpoint is throttled while the others are not. A 429 carries an integer
   ``Retry-After`` and ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset``
   (ISO time) and ``RateLimit-Reason`` like Jira Cloud's;
3. ``error_rate``: ``{"share": 0.2, "status": 503}`` answers that share with a 5xx *before*
   the request is applied;
4. ``ambiguous``: ``{"share": 1.0, "mode": "5xx"|"drop", "status": 504, "count": N}`` lets the
   request be applied and then answers a 5xx (``5xx``) or drops the connection without a
   response (``drop``), the classic "did my write happen?" failure. ``count`` limits how many
   times it fires;
5. ``refuse``: ``{"status": 403, "message": "...", "share": 1.0, "count": N}`` answers that
   share with a 4xx *before* the request is applied, as a site with a feature switched off or a
   user without a permission answers (e.g. the bulk edit API refused); ``count`` limits how
   many times it fires.

Every fault accepts ``routes``: a list of ``"METHOD /rest/api/3/issue/{issueIdOrKey}"`` (or
method-less ``"/rest/api/3/issue"``) route templates it is limited to. Randomness comes from one
``random.Random(seed)`` per site, so a test with a fixed ``seed`` is reproducible.
``bulk_delay_ms`` is not a fault but lives here for convenience: bulk tasks complete that long
after submission (0 = immediately).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

RATE_LIMIT_MESSAGE = "Rate limit exceeded."


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
    message: str = "You do not have permission to perform this operation."
    routes: list[str] | None = None
    count: int | None = None


@dataclass
class FaultConfig:
    seed: int = 0
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    rate_limit: RateLimitFault | None = None
    error_rate: ErrorFault | None = None
    ambiguous: AmbiguousFault | None = None
    refuse: RefuseFault | None = None
    bulk_delay_ms: int = 0

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
            "bulk_delay_ms",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        config = cls(
            seed=_number(data, "seed", int, 0),
            latency_ms=_number(data, "latency_ms", int, 0),
            latency_jitter_ms=_number(data, "latency_jitter_ms", int, 0),
            bulk_delay_ms=_number(data, "bulk_delay_ms", int, 0),
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


def _number(data: Mapping[str, Any], name: str, kind: type, default: Any) -> Any:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return kind(value)


def _build(cls: type[Any], data: Any, name: str) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{name} must be an object")
    names = set(cls.__dataclass_fields__)
    unknown = set(data) - names
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
        raise ValueError(f"{name}.routes must be a list of route templates")
    return built


def _applies(routes: list[str] | None, method: str, template: str) -> bool:
    if routes is None:
        return True
    return f"{method} {template}" in routes or template in routes


def iso_time(epoch_s: float) -> str:
    stamp = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Faults:
    """The live fault state of one site: configuration, RNG, token buckets, counters."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = FaultConfig()
        self.rng = random.Random(0)
        self.buckets: dict[str, _Bucket] = {}
        self.injected: Counter[str] = Counter()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig | Mapping[str, Any]) -> None:
        if not isinstance(config, FaultConfig):
            config = FaultConfig.from_json(config)
        # Deep copy so a caller's config object (a default shared by sites) is never mutated.
        self.config = FaultConfig.from_json(config.to_json())
        self.rng = random.Random(self.config.seed)
        self.buckets = {}
        self.injected = Counter()

    def latency_s(self) -> float:
        c = self.config
        jitter = self.rng.uniform(0, c.latency_jitter_ms) if c.latency_jitter_ms else 0.0
        return (c.latency_ms + jitter) / 1000

    def rate_limited(
        self, method: str, template: str, now: float | None = None
    ) -> dict[str, str] | None:
        """The 429 headers if this request is throttled, else ``None``."""
        fault = self.config.rate_limit
        if fault is None or not _applies(fault.routes, method, template):
            return None
        now = time.monotonic() if now is None else now
        if fault.per_second:
            rate = float(fault.per_second)
            key = f"{method} {template}"
            bucket = self.buckets.setdefault(key, _Bucket(rate, now))
            bucket.tokens = min(rate, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens < 1.0:
                wait = max(1, math.ceil((1.0 - bucket.tokens) / rate))
                self.injected["rate_limited"] += 1
                return self._headers(wait, int(math.ceil(rate)), "jira-burst-based")
            bucket.tokens -= 1.0
        if fault.share and self.rng.random() < fault.share:
            self.injected["rate_limited"] += 1
            return self._headers(fault.retry_after, 100, "jira-quota-tenant-based")
        return None

    @staticmethod
    def _headers(retry_after: int, limit: int, reason: str) -> dict[str, str]:
        return {
            "Retry-After": str(int(retry_after)),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": iso_time(time.time() + retry_after),
            "RateLimit-Reason": reason,
        }

    def error_status(self, method: str, template: str) -> int | None:
        fault = self.config.error_rate
        if fault is None or not _applies(fault.routes, method, template):
            return None
        if fault.share and self.rng.random() < fault.share:
            self.injected["errors"] += 1
            return fault.status
        return None

    def refused(self, method: str, template: str) -> RefuseFault | None:
        """The refusal to answer instead of applying this request, if it fires."""
        fault = self.config.refuse
        if fault is None or not _applies(fault.routes, method, template):
            return None
        if fault.count is not None and fault.count <= 0:
            return None
        if fault.share and self.rng.random() < fault.share:
            if fault.count is not None:
                fault.count -= 1
            self.injected["refused"] += 1
            return fault
        return None

    def ambiguous(self, method: str, template: str) -> AmbiguousFault | None:
        """The ambiguous fault to apply after this (successful) request, if it fires."""
        fault = self.config.ambiguous
        if fault is None or not _applies(fault.routes, method, template):
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
    """Request counts per ``"METHOD /route/template"``, per status, and in total; requests in
    flight and their peak."""

    routes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    total: int = 0
    # Jira requests being served now, and the most at once since the last reset: what a
    # client's concurrency limit looks like from the vendor's side.
    in_flight: int = 0
    peak_in_flight: int = 0

    def started(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def finished(self) -> None:
        self.in_flight -= 1

    def record(self, method: str, template: str, status: int) -> None:
        self.routes[f"{method} {template}"] += 1
        self.statuses[str(status)] += 1
        self.total += 1

    def reset(self) -> None:
        self.routes = Counter()
        self.statuses = Counter()
        self.total = 0
        self.peak_in_flight = self.in_flight

    def to_json(self, faults: Faults) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.routes.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "total": self.total,
            "peak_in_flight": self.peak_in_flight,
            "faults": dict(faults.injected),
        }
