"""Per-API-key token buckets: 429 with ``Retry-After`` once a key spends its burst.

The bucket is keyed by the SHA-256 of the ``X-API-KEY`` value (the digest the store keeps),
never the key itself, and is checked before the key is looked up, so a flood of made-up
keys costs a hash and no database round trip. Buckets live in this process: with N API
replicas a key gets N times the configured rate. The table is bounded (least recently used
buckets are dropped first; a dropped bucket comes back full, which only ever errs towards
letting a request through).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ticketbridge.errors import error_body
from ticketbridge.provisioning.keys import hash_key

MAX_BUCKETS = 100_000


class TokenBuckets:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0 when allowed, else seconds until one is."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_buckets:
            self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            key = Headers(scope=scope).get("x-api-key")
            if key:
                wait = self.buckets.take(hash_key(key))
                if wait > 0:
                    retry_after = max(1, math.ceil(wait))
                    msg = (
                        f"rate limit of {self.buckets.rate:g} requests per second "
                        f"(burst {self.buckets.burst:g}) exceeded for this API key; "
                        f"retry after {retry_after} s"
                    )
                    item = {"loc": ["header", "X-API-KEY"], "msg": msg, "type": "rate_limited"}
                    response = JSONResponse(
                        error_body(msg, [item]),
                        status_code=429,
                        headers={"Retry-After": str(retry_after)},
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
