"""Outbound vendor HTTP: one retry policy and one concurrency limit for every call.

- 429: wait ``Retry-After`` seconds (or back off when absent), for every method, because a
  429 means the vendor did not act on the request.
- 5xx and transport errors: exponential backoff with full jitter, but only for idempotent
  calls; a POST that failed this way may have been applied, so the caller decides.
- A cap on the total time spent waiting, after which the last error is raised.
- A per-connection semaphore bounds concurrent requests, so one connection's burst neither
  overruns the vendor nor starves other connections.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ticketbridge.logging import get_logger

log = get_logger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_total_wait: float = 60.0
    # Injected so tests can observe waits without sleeping for real.
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class RetriesExhausted(Exception):
    """Raised with the last response or transport error when the policy gives up."""

    def __init__(self, response: httpx.Response | None, error: Exception | None) -> None:
        super().__init__(
            str(error) if error else f"HTTP {response.status_code if response else '?'}"
        )
        self.response = response
        self.error = error


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class VendorHttp:
    """Sends requests for one connection through the shared pooled client."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        auth: httpx.Auth | None,
        limiter: asyncio.Semaphore,
        policy: RetryPolicy,
        timeout: float,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._auth = auth
        self._limiter = limiter
        self._policy = policy
        self._timeout = timeout
        self.waited_for_rate_limit = 0.0

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        retry_unsafe: bool = False,
    ) -> httpx.Response:
        """Send with retries. Returns any response that is not retried (2xx, 4xx, final 5xx).

        ``retry_unsafe`` allows retrying a non-idempotent call on 5xx/transport errors; only
        callers that can detect a duplicate (or don't create anything) should set it.
        """
        policy = self._policy
        retryable_5xx = method.upper() in IDEMPOTENT or retry_unsafe
        waited = 0.0
        url = path if path.startswith("http") else f"{self._base_url}{path}"
        for attempt in range(policy.max_attempts):
            response: httpx.Response | None = None
            error: Exception | None = None
            try:
                async with self._limiter:
                    response = await self._client.request(
                        method,
                        url,
                        params=params,
                        json=json,
                        auth=self._auth or httpx.USE_CLIENT_DEFAULT,
                        timeout=self._timeout,
                    )
            except httpx.TransportError as exc:
                error = exc
            if response is not None and response.status_code < 500 and response.status_code != 429:
                return response
            last = attempt == policy.max_attempts - 1
            if response is not None and response.status_code == 429:
                delay = retry_after_seconds(response)
                delay = policy.backoff(attempt) if delay is None else delay
            elif retryable_5xx:
                delay = policy.backoff(attempt)
            else:
                last = True
                delay = 0.0
            if last or waited + delay > policy.max_total_wait:
                if response is not None:
                    return response
                raise RetriesExhausted(None, error)
            log.info(
                "vendor_retry",
                method=method,
                path=path,
                status=response.status_code if response is not None else None,
                error=type(error).__name__ if error else None,
                delay=round(delay, 3),
                attempt=attempt + 1,
            )
            if response is not None and response.status_code == 429:
                self.waited_for_rate_limit += delay
            await response.aclose() if response is not None else None
            await policy.sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover
