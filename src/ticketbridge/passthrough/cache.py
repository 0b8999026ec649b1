"""A small in-process TTL cache for the dropdown endpoints (UIs call them on every keystroke).

Keys start with the connection id (and the connection's last change time, so editing a
connection's credentials or options starts afresh); entries live ``ttl`` seconds on a
monotonic clock; the least recently used entry goes when the cache is full. A ``ttl`` of 0
turns it off. Each process has its own: with several API replicas a caller may see a value
up to ``ttl`` seconds old from one replica and a fresh one from another, which is what
"short-lived" accepts.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_MAX_ENTRIES = 2048


class TtlCache:
    def __init__(
        self,
        ttl: float,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        # An attribute, not a module global: tests move time forward without sleeping.
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any | None:
        """The cached value, or None (values are never None)."""
        if not self.enabled:
            return None
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self.clock():
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        if not self.enabled:
            return
        self._entries[key] = (self.clock() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
