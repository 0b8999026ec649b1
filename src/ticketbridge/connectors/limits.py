"""Per-connection concurrency limits of outbound vendor calls.

Every request and job of one connection shares one limiter, so one connection's burst
cannot starve the others. In one process a limiter is an ``asyncio.Semaphore`` of
``max_concurrency``. A deployment with several processes plugs in a limiter that also
holds a cross-process slot (``jobs/limiter.py``: PostgreSQL advisory locks) through
:meth:`ConnectionLimits.plug`; the HTTP layer only needs ``async with limiter``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# (connection id, max concurrency) -> the limiter of that connection
LimiterSource = Callable[[str, int], asyncio.Semaphore]


def local_limiter(connection_id: str, max_concurrency: int) -> asyncio.Semaphore:
    return asyncio.Semaphore(max_concurrency)


class ConnectionLimits:
    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self._source: LimiterSource = local_limiter
        self._limiters: dict[str, asyncio.Semaphore] = {}

    def limiter(self, connection_id: str) -> asyncio.Semaphore:
        found = self._limiters.get(connection_id)
        if found is None:
            found = self._source(connection_id, self.max_concurrency)
            self._limiters[connection_id] = found
        return found

    @contextmanager
    def plug(self, source: LimiterSource) -> Iterator[None]:
        """Limiters from ``source`` while the block runs (connectors built before keep
        theirs: a call in flight never changes limiter halfway)."""
        previous, saved = self._source, self._limiters
        self._source, self._limiters = source, {}
        try:
            yield
        finally:
            self._source, self._limiters = previous, saved
