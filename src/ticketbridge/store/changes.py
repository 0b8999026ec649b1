"""Per-process change counters of tables, and a TTL cache that they invalidate.

Every :class:`~ticketbridge.store.session.UnitSession` notes which tables its transaction
wrote (ORM flushes and ``insert``/``update``/``delete`` statements alike) and, once that
transaction has ended, bumps their counters here (``session.py`` wires the events). A
:class:`TableCache` entry remembers the counters of the tables it depends on as they were
*before* its value was read from the database, so a change committed by this process at any
time after that read makes the entry stale at once, and a change committed by another
process (a CLI command, another replica) at the latest after the entry's TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Execution options of a write that changes nothing any cache holds (a key's last_used_at).
KEEPS_CACHES_OPTION = "ticketbridge_keeps_caches"
KEEPS_CACHES = {KEEPS_CACHES_OPTION: True}

_versions: dict[str, int] = {}


def version(tables: Iterable[str]) -> int:
    """A number that grows whenever one of ``tables`` changes in this process (counters only
    grow, so an equal sum means no change)."""
    return sum(_versions.get(t, 0) for t in tables)


def bump(tables: Iterable[str]) -> None:
    for t in tables:
        _versions[t] = _versions.get(t, 0) + 1


class TableCache(Generic[K, V]):
    """A bounded TTL cache of values read from ``tables``.

    ``ttl_secs=0`` turns it off (every ``get`` misses). Usage: ``stamp = cache.stamp()``
    before the read, ``cache.put(key, value, stamp)`` after it."""

    def __init__(
        self,
        tables: Iterable[str],
        ttl_secs: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tables = tuple(tables)
        self.ttl_secs = ttl_secs
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[K, tuple[V, int, float]] = OrderedDict()
        self._flights: dict[K, tuple[int, asyncio.Future[V | None]]] = {}

    def stamp(self) -> int:
        return version(self.tables)

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, stamp, expires = entry
        if stamp != self.stamp() or self.clock() >= expires:
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V, stamp: int) -> None:
        if self.ttl_secs <= 0 or stamp != self.stamp():
            return  # off, or the tables changed while the value was being read
        self._entries[key] = (value, stamp, self.clock() + self.ttl_secs)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    async def get_or_load(
        self,
        key: K,
        load: Callable[[], Awaitable[V | None]],
        *,
        usable: Callable[[V], bool] = lambda _: True,
    ) -> V | None:
        """The cached value, or ``load()``'s (cached unless None). Concurrent misses of one
        key share one load (a burst after the TTL costs one query, not one per request),
        but only while the tables have not changed since that load began: a request that
        starts after a change never gets a value read before it."""
        value = self.get(key)
        if value is not None and usable(value):
            return value
        stamp = self.stamp()
        flight = self._flights.get(key)
        if flight is None or flight[0] != stamp:
            task = asyncio.ensure_future(self._load(key, load, stamp))
            flight = self._flights[key] = (stamp, task)
            task.add_done_callback(lambda done: self._land(key, done))
        # Shielded: one caller giving up (a client gone) does not cancel the others' load.
        return await asyncio.shield(flight[1])

    async def _load(self, key: K, load: Callable[[], Awaitable[V | None]], stamp: int) -> V | None:
        value = await load()
        if value is not None:
            self.put(key, value, stamp)
        return value

    def _land(self, key: K, done: asyncio.Future[V | None]) -> None:
        flight = self._flights.get(key)
        if flight is not None and flight[1] is done:
            del self._flights[key]
        if not done.cancelled():
            done.exception()  # retrieved: an error reaches the callers, not the loop's log
