"""Cyclic garbage collector settings for the long-running service processes (``serve``,
``worker``).

CPython collects its youngest generation every 700 net container allocations. A bulk
request of 50 tickets allocates far more than that (parsed JSON, pydantic models, specs,
stored rows, results), so it ran dozens of young collections and, every hundred of those, a
collection of the whole heap (the app, its routes, schemas and ORM metadata: hundreds of
thousands of objects). Measured on the bulk rows (20 concurrent requests or jobs of 50, one
``serve``, 12 rounds each at load ~5): the event loop's CPU per 1,000 tickets fell by 28%
(``bulk/sync`` with vendor ids), 6% (UUID fields) and 10% (jobs) with the thresholds below
(bench/README.md, ``bulkpath``). Reference counting still
frees everything not in a cycle at once; cyclic garbage waits for a young collection every
50,000 allocations, a few MB at most.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def tune_for_service() -> None:
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
