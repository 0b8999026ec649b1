"""The vendor ids a reconciliation listed, kept in a scratch SQLite file of this process.

The listing can take minutes (5000 ids per vendor call). Keeping the ids here rather than in
the store's temporary table means no pooled database connection waits on the vendor
meanwhile, and memory stays flat whatever the number of issues.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

_BATCH = 500  # stays under SQLite's bound-parameter limit


class SeenIds:
    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="ticketbridge-seen-")
        self._db = sqlite3.connect(
            Path(self._dir.name) / "seen.db", check_same_thread=False, isolation_level=None
        )
        # A scratch file: losing it with the process loses nothing (the next run lists again).
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (vendor_id TEXT PRIMARY KEY) WITHOUT ROWID")

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.close()
        self._dir.cleanup()

    async def add(self, vendor_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self._add, vendor_ids)

    async def present(self, vendor_ids: Sequence[str]) -> set[str]:
        """The subset of ``vendor_ids`` that was listed."""
        return await asyncio.to_thread(self._present, vendor_ids)

    def _add(self, vendor_ids: Sequence[str]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR IGNORE INTO seen (vendor_id) VALUES (?)", ((v,) for v in vendor_ids)
        )
        self._db.execute("COMMIT")

    def _present(self, vendor_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(vendor_ids), _BATCH):
            part = vendor_ids[start : start + _BATCH]
            marks = ",".join("?" * len(part))
            query = f"SELECT vendor_id FROM seen WHERE vendor_id IN ({marks})"
            found.update(r[0] for r in self._db.execute(query, part))
        return found
