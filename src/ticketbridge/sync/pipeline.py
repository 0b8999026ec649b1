"""Concurrency helpers of the ticket walk: run tasks together, and a resizable gate.

``together`` runs coroutines as one unit: the first failure cancels the others and is raised
as itself (not wrapped in an ExceptionGroup, so error reporting sees the vendor's error), and
cancelling the caller cancels them all.

``Gate`` bounds how many vendor reads of the walk are in flight. It halves when the vendor
starts answering 429 (additive increase, multiplicative decrease), so a sync backs off to one
request at a time under a rate limit and widens again, one step per clean round, after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import TracebackType
from typing import Any


async def together(*coros: Coroutine[Any, Any, None]) -> None:
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task in done and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class Gate:
    def __init__(self, width: int) -> None:
        self.limit = max(1, width)
        self.width = self.limit
        self._busy = 0
        self._clean = 0
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._busy < self.width)
            self._busy += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        async with self._changed:
            self._busy -= 1
            self._changed.notify_all()

    def throttled(self, hit: bool) -> None:
        """Report one read: ``hit`` when it had to wait on the vendor's rate limit."""
        if hit:
            self.width = max(1, self.width // 2)
            self._clean = 0
            return
        self._clean += 1
        if self._clean >= self.width and self.width < self.limit:
            self.width += 1
            self._clean = 0
