"""ServiceNow's side of fault injection and request statistics, per instance (the mechanics
are :mod:`ticketbridge.fakekit.faults`).

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

import time
from dataclasses import dataclass
from typing import ClassVar

from ticketbridge.fakekit import faults as kit
from ticketbridge.fakekit.faults import (
    AmbiguousFault,
    ConcurrencyStats,
    ErrorFault,
    RateLimitFault,
    RouteKey,
)

__all__ = [
    "RATE_LIMIT_RULE",
    "AmbiguousFault",
    "ErrorFault",
    "FaultConfig",
    "Faults",
    "RateLimitFault",
    "RefuseFault",
    "RouteKey",
    "Stats",
]

RATE_LIMIT_RULE = "b7c2e5a1c3a310104f7a2b1c4d5e6f70"

# Requests per "METHOD /route/template", per status, in total; in flight and their peak (a
# sync's concurrent reads, seen from the instance's side).
Stats = ConcurrencyStats


@dataclass
class RefuseFault:
    share: float = 1.0
    status: int = 403
    message: str = "Operation Failed"
    detail: str = "ACL Exception Failed due to security constraints"
    routes: list[str] | None = None


@dataclass
class FaultConfig(kit.FaultConfig):
    REFUSE_FAULT: ClassVar[type[RefuseFault]] = RefuseFault
    ROUTES_NOUN: ClassVar[str] = "route keys"

    refuse: RefuseFault | None = None


class Faults(kit.Faults[FaultConfig]):
    """The live fault state of one instance; its 429s carry a rate limit rule's headers."""

    config_class = FaultConfig

    def vendor_rate_limit_headers(self, retry_after: int, *, burst: bool) -> dict[str, str]:
        return {
            "X-RateLimit-Reset": str(int(time.time()) + int(retry_after)),
            "X-RateLimit-Rule": RATE_LIMIT_RULE,
        }
