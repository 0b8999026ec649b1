"""Jira's side of fault injection and request statistics, per site (the mechanics are
:mod:`ticketbridge.fakekit.faults`).

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
    "RATE_LIMIT_MESSAGE",
    "AmbiguousFault",
    "ErrorFault",
    "FaultConfig",
    "Faults",
    "RateLimitFault",
    "RefuseFault",
    "RouteKey",
    "Stats",
    "iso_time",
]

RATE_LIMIT_MESSAGE = "Rate limit exceeded."


@dataclass
class RefuseFault:
    share: float = 1.0
    status: int = 403
    message: str = "You do not have permission to perform this operation."
    routes: list[str] | None = None
    count: int | None = None


@dataclass
class FaultConfig(kit.FaultConfig):
    NUMBERS: ClassVar[tuple[str, ...]] = (*kit.FaultConfig.NUMBERS, "bulk_delay_ms")
    REFUSE_FAULT: ClassVar[type[RefuseFault]] = RefuseFault

    refuse: RefuseFault | None = None
    bulk_delay_ms: int = 0


def iso_time(epoch_s: float) -> str:
    stamp = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


class Faults(kit.Faults[FaultConfig]):
    """The live fault state of one site; its 429s carry Jira Cloud's rate-limit headers."""

    config_class = FaultConfig

    def vendor_rate_limit_headers(self, retry_after: int, *, burst: bool) -> dict[str, str]:
        return {
            "X-RateLimit-Reset": iso_time(time.time() + retry_after),
            "RateLimit-Reason": "jira-burst-based" if burst else "jira-quota-tenant-based",
        }


# Requests per "METHOD /route/template", per status, in total; in flight and their peak.
Stats = ConcurrencyStats
