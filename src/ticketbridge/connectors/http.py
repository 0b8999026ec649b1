"""Outbound vendor HTTP: one retry policy, one deadline and one concurrency limit for every call.

- 429: wait ``Retry-After`` (seconds or an HTTP date; absent or absurd values fall back to
  backoff or are clamped), for every method, because a 429 means the vendor did not act.
- 5xx and transport errors: exponential backoff with full jitter, but only for idempotent
  calls; a POST that failed this way may have been applied, so the caller decides.
- Budgets: the waits are capped (``max_total_wait``) and the whole operation, attempts
  included, ends at ``total_deadline``: a timeout, never minutes of retries.
- Answers are read streaming and refused past ``max_response_bytes``; redirects are never
  followed; the shared client keeps no cookies (:func:`vendor_client`).
- A per-connection semaphore bounds concurrent requests, so one connection's burst neither
  overruns the vendor nor starves other connections.
- Every attempt and every retry is reported to one optional listener (metrics.py), by
  endpoint *template*: the connector names its paths' variable parts, the host never appears.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Protocol

import httpx
import orjson

from ticketbridge.connectors.url_policy import UrlRefused, normalize_base_url
from ticketbridge.errors import VendorError
from ticketbridge.logging import get_logger

log = get_logger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# The longest Retry-After passed on; a vendor asking for more is taken to ask for this.
MAX_RETRY_AFTER = 3600.0
# Headers about the wire form of a body, which the re-built response no longer has.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_total_wait: float = 60.0
    # Attempts and waits together; ``open_runtime`` sets these two from the settings.
    total_deadline: float = 60.0
    max_response_bytes: int = 10 * 1024 * 1024
    # Injected so tests can observe waits without sleeping for real.
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class VendorCall:
    """One attempt, as the listener sees it: no host, no ids, no body."""

    vendor: str
    endpoint: str
    method: str
    status: str  # the HTTP status, "timeout", or the transport error's class name
    seconds: float


class VendorListener(Protocol):
    def call(self, event: VendorCall) -> None: ...

    def retry(self, event: VendorCall) -> None: ...


_listener: VendorListener | None = None


def set_listener(listener: VendorListener | None) -> None:
    global _listener
    _listener = listener


def _notify(kind: str, event: VendorCall) -> None:
    if _listener is None:
        return
    try:
        getattr(_listener, kind)(event)
    except Exception:  # metrics must never fail a vendor call
        log.warning("vendor_listener_failed", exc_info=True)


def _default_template(path: str) -> str:
    return "/".join(
        "{id}" if any(c.isdigit() or c.isupper() for c in s) else s for s in path.split("/")
    )


def decode_json(content: bytes) -> Any:
    """A vendor body as JSON (ValueError when it is not).

    orjson parses a sync page (hundreds of KB) several times faster than the standard
    library; what it refuses but the standard library reads (NaN, very deep nesting) goes
    to the standard library, so every body reads as it always did."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


class RetriesExhausted(Exception):
    """Raised with the last response or transport error when the policy gives up."""

    def __init__(self, response: httpx.Response | None, error: Exception | None) -> None:
        super().__init__(
            str(error) if error else f"HTTP {response.status_code if response else '?'}"
        )
        self.response = response
        self.error = error


class DeadlineExceeded(httpx.TimeoutException):
    """The operation's total deadline passed (attempts and waits together)."""


class _NoCookies(DefaultCookiePolicy):
    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


class _UnreadCookies(httpx.Cookies):
    """A jar that answers are not even read into: httpx reads every answer's cookies into
    the client's jar (building urllib request and response wrappers, ~50 µs a call), and
    this one would refuse each (``_NoCookies``) anyway."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _VendorClient(httpx.AsyncClient):
    _unread = _UnreadCookies(CookieJar(policy=_NoCookies()))

    @property
    def cookies(self) -> httpx.Cookies:
        return self._unread

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise AttributeError("the vendor client keeps no cookies")


def vendor_client(
    transport: httpx.AsyncBaseTransport | None, *, limits: httpx.Limits, timeout: float
) -> httpx.AsyncClient:
    """The one pooled client for vendor calls. Its jar accepts no cookie, so no vendor
    session state passes between connections (or tenants) and nothing grows."""
    return _VendorClient(
        transport=transport,
        limits=limits,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        cookies=CookieJar(policy=_NoCookies()),
        headers={"User-Agent": "ticketbridge", "Accept": "application/json"},
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds in [0, MAX_RETRY_AFTER]; None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


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
        vendor: str = "vendor",
        endpoint_template: Callable[[str], str] | None = None,
    ) -> None:
        self._client = client
        self._vendor = vendor
        self._template = endpoint_template or _default_template
        # Stored connections may predate a rule: the structure is checked again on each use.
        self._refused: UrlRefused | None = None
        try:
            self._base_url = normalize_base_url(base_url)
        except UrlRefused as exc:
            self._base_url, self._refused = "", exc
        self._auth = auth
        self._limiter = limiter
        self._policy = policy
        self._timeout = timeout
        self.waited_for_rate_limit = 0.0

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    async def wait_rate_limited(self, delay: float) -> None:
        """Wait out a 429 the vendor gave inside a successful answer (a Batch API item), as
        :meth:`request` waits out its own: with the policy's sleep, and counted."""
        self.waited_for_rate_limit += delay
        await self._policy.sleep(delay)

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
        if not path.startswith("/"):
            raise ValueError("vendor paths are relative to the connection's base URL")
        if self._refused is not None:
            raise _refused(self._refused)
        url = self._base_url + path
        policy = self._policy
        retryable_5xx = method.upper() in IDEMPOTENT or retry_unsafe
        waited = busy = 0.0
        endpoint = self._template(path.split("?", 1)[0])
        for attempt in range(policy.max_attempts):
            response: httpx.Response | None = None
            error: Exception | None = None
            remaining = policy.total_deadline - busy - waited
            if remaining <= 0:
                raise RetriesExhausted(None, DeadlineExceeded("total deadline passed"))
            started = time.monotonic()
            try:
                async with asyncio.timeout(remaining), self._limiter:
                    response = await self._send(method, url, params, json, remaining)
            except TimeoutError:
                self._report("call", endpoint, method, "timeout", started)
                raise RetriesExhausted(None, DeadlineExceeded("total deadline passed")) from None
            except httpx.TransportError as exc:
                error = exc
            except UrlRefused as exc:
                raise _refused(exc) from None
            finally:
                busy += time.monotonic() - started
            status = str(response.status_code) if response is not None else type(error).__name__
            self._report("call", endpoint, method, status, started)
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
            budget = min(policy.max_total_wait - waited, policy.total_deadline - busy - waited)
            if last or delay > budget:
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
            self._report("retry", endpoint, method, status, started)
            if response is not None and response.status_code == 429:
                self.waited_for_rate_limit += delay
            await policy.sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _report(self, kind: str, endpoint: str, method: str, status: str, started: float) -> None:
        if _listener is not None:
            seconds = time.monotonic() - started
            _notify(kind, VendorCall(self._vendor, endpoint, method.upper(), status, seconds))

    async def _send(
        self, method: str, url: str, params: Any, json: Any, remaining: float
    ) -> httpx.Response:
        # What ``build_request`` makes, without its merges: the URL is absolute (the client has
        # no base URL, no default params) and the jar never holds a cookie (``vendor_client``),
        # so only the client's headers and the timeout are added. A third of its CPU.
        timeout = httpx.Timeout(min(self._timeout, remaining)).as_dict()
        request = httpx.Request(
            method,
            url,
            params=params,
            json=json,
            headers=self._client.headers,
            extensions={"timeout": timeout},
        )
        response = await self._client.send(
            request,
            auth=self._auth or httpx.USE_CLIENT_DEFAULT,
            follow_redirects=False,
            stream=True,
        )
        try:
            body = await self._read_capped(response)
        finally:
            await response.aclose()
        headers = [(k, v) for k, v in response.headers.multi_items() if k not in _WIRE_HEADERS]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self._policy.max_response_bytes
        too_large = VendorError(
            f"the vendor's answer is larger than {cap} bytes (HTTP {response.status_code})",
            vendor_status=response.status_code,
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise too_large
                chunks.append(chunk)
        except httpx.DecodingError:
            raise VendorError(
                f"unexpected answer from the vendor (HTTP {response.status_code})",
                vendor_status=response.status_code,
            ) from None
        return b"".join(chunks)


def _refused(exc: UrlRefused) -> VendorError:
    return VendorError(
        f"the connection's credentials.base_url is refused: {exc.reason}; update the connection"
    )
