"""Per-connection concurrency limits of outbound vendor calls.

Every request and job of one connection shares one limiter, so one connection's burst
cannot starve the others. In one process a limiter is an ``asyncio.Semaphore`` of
``max_concurrency``. A deployment with several processes plugs in a limiter that also
holds a cross-process slot (``jobs/limiter.py``: PostgreSQL advisory locks) through
:meth:`ConnectionLimits.plug`; the HTTP layer only needs ``async with limiter``.

Work made of several vendor calls (a bulk job's chunk: its intent, its calls, its commit)
takes a *turn* first (:class:`FairTurns`, per connection, as many as the limiter allows):
a freed turn goes to the waiting party (a job) holding the fewest, so the chunks of
different jobs of one connection share the cap fairly instead of first come, first served,
and one job alone may use all of it.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager

# (connection id, max concurrency) -> the limiter of that connection
LimiterSource = Callable[[str, int], asyncio.Semaphore]


def local_limiter(connection_id: str, max_concurrency: int) -> asyncio.Semaphore:
    return asyncio.Semaphore(max_concurrency)


class FairTurns:
    """At most ``capacity`` turns held at once, shared between parties: a freed turn goes
    to the waiting party that holds the fewest, and among those to the one served least
    recently (round robin), never to a party's next chunk while another waits with none."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._held: Counter[Hashable] = Counter()
        self._active = 0
        self._waiting: dict[Hashable, deque[asyncio.Future[None]]] = {}  # in arrival order
        self._served: dict[Hashable, int] = {}  # party -> the grant count when last served
        self._grants = 0

    @property
    def held(self) -> dict[Hashable, int]:
        return dict(self._held)

    @asynccontextmanager
    async def turn(self, party: Hashable) -> AsyncIterator[None]:
        await self._acquire(party)
        try:
            yield
        finally:
            self._release(party)

    async def _acquire(self, party: Hashable) -> None:
        if self._active < self.capacity and not self._waiting:
            self._grant(party)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(party, deque()).append(future)
        self._hand_over()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release(party)  # granted, then cancelled before it could run
            else:
                self._forget(party, future)
            raise

    def _grant(self, party: Hashable) -> None:
        self._active += 1
        self._held[party] += 1
        self._grants += 1
        self._served[party] = self._grants

    def _release(self, party: Hashable) -> None:
        self._active -= 1
        self._held[party] -= 1
        if self._held[party] <= 0:
            del self._held[party]
            if party not in self._waiting:
                del self._served[party]  # gone: nothing held, nothing asked
        self._hand_over()

    def _forget(self, party: Hashable, future: asyncio.Future[None]) -> None:
        queue = self._waiting.get(party)
        if queue is not None and future in queue:
            queue.remove(future)
            if not queue:
                del self._waiting[party]
                if party not in self._held:
                    self._served.pop(party, None)

    def _hand_over(self) -> None:
        while self._active < self.capacity and self._waiting:
            party = min(self._waiting, key=lambda p: (self._held.get(p, 0), self._served.get(p, 0)))
            queue = self._waiting[party]
            future = queue.popleft()
            if not queue:
                del self._waiting[party]
            if future.done():  # its waiter was cancelled
                continue
            self._grant(party)
            future.set_result(None)


class ConnectionLimits:
    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self._source: LimiterSource = local_limiter
        self._limiters: dict[str, asyncio.Semaphore] = {}
        self._turns: dict[str, FairTurns] = {}

    def turns(self, connection_id: str) -> FairTurns:
        found = self._turns.get(connection_id)
        if found is None:
            found = self._turns[connection_id] = FairTurns(self.max_concurrency)
        return found

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
