"""CPU-bound pure work in a helper process, so the event loop keeps to I/O.

A sync page is decoded and mapped (JSON, then every issue to normalized data, ADF to
Markdown) at a few hundred microseconds of CPU per issue, which on the event loop's thread
competes with the page writes and every API request of the process. :class:`Offload` runs
such work in one helper process instead, on the machine's other core: the loop only sends
the page's bytes and receives the mapped issues.

* One worker, started lazily (a process that never syncs never starts it) with the
  ``forkserver`` method: forking the serving process itself would copy its threads' locks
  (aiosqlite's, the logging's) in whatever state they are.
* Callers bound what is in flight (a sync's readers each wait for their page), so memory
  holds a few pages whatever the size of the walk.
* A worker that dies (killed, out of memory) is replaced on the next call; the call that saw
  it die runs in this process instead, so a sync never fails because of the helper.
* ``aclose`` (the runtime's end) cancels queued work and waits for the worker in a thread,
  not on the loop.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ticketbridge.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


class Offload:
    """Runs picklable functions in one helper process (see the module docstring)."""

    def __init__(self, preload: Sequence[str] = ()) -> None:
        # Modules the fork server imports once, so a new worker starts with them loaded.
        self.preload = list(preload)
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()
        self._warming: asyncio.Task[None] | None = None
        self._closed = False

    def _start(self) -> ProcessPoolExecutor:
        """A pool whose worker is up; blocking (the fork server may have to start and
        import the preload first), hence run in a thread."""
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(self.preload)  # no effect once it is running
        pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        pool.submit(int).result()
        return pool

    async def _executor(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncio.to_thread(self._start)
            return self._pool

    def start(self) -> None:
        """Start the helper in the background, ahead of its first use (a full sync does
        this before its catalog phase, so the ticket pages find it running)."""
        if not self._closed and self._pool is None and self._warming is None:
            self._warming = asyncio.get_running_loop().create_task(self._warm())

    async def _warm(self) -> None:
        try:
            await self._executor()
        except Exception as exc:  # the first real call will try again and fall back
            log.warning("offload_start_failed", error=repr(exc))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the helper process (in this one once closed, or if it died)."""
        if self._closed:
            return fn(*args)
        loop = asyncio.get_running_loop()
        pool = await self._executor()
        try:
            return await loop.run_in_executor(pool, fn, *args)
        except BrokenProcessPool:
            log.warning("offload_worker_died")
            if self._pool is pool:
                self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            return fn(*args)

    def worker_pids(self) -> list[int]:
        """The helper's process ids (benchmarks read its CPU time)."""
        pool = self._pool
        return list(pool._processes or ()) if pool is not None else []  # noqa: SLF001

    async def aclose(self) -> None:
        self._closed = True
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
        async with self._starting:
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
