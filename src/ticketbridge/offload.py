"""CPU-bound pure work in a helper process, so the event loop keeps to I/O.

A sync page is decoded and mapped (JSON, then every issue to normalized data, ADF to
Markdown) at a few hundred microseconds of CPU per issue, which on the event loop's thread
competes with the page writes and every API request of the process. :class:`Offload` runs
such work in one helper process instead, on the machine's other core: the loop only sends
the page's bytes and receives the mapped issues.

* The helper is ``python -m ticketbridge.offload`` speaking length-prefixed pickles over its
  stdin and stdout, started lazily (a process that never syncs never starts one). It is a
  fresh interpreter that imports only the modules it is told to (not a fork of the serving
  process and its threads, and not multiprocessing's re-import of the main module, which
  would load the whole application into it).
* Only pure functions: one that raises there is run again here, so the caller gets the
  real exception and traceback.
* One call at a time; callers bound what is in flight (a sync's readers each wait for their
  page), so memory holds a few pages whatever the size of the walk.
* A helper that dies (killed, out of memory) is replaced on the next call; the call that saw
  it die runs in this process instead, as does every call when no helper can be started, so
  work never fails because of the helper (after three dead in a row, no more are started).
  A caller cancelled mid-call leaves the helper's answer unread: that helper is stopped and
  the next call starts another.
* It exits when its stdin closes (this process ending, however it ends) and ignores SIGINT,
  so a Ctrl-C stops the service, not the helper under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from ticketbridge.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")
_SIZE = struct.Struct("!Q")
_LIMIT = 1 << 30  # no page comes near: a larger frame means the stream is out of step
_GIVE_UP = 3  # helpers dead in a row before this process stops starting them


class Offload:
    """Runs picklable functions in one helper process (see the module docstring)."""

    def __init__(self, preload: Sequence[str] = ()) -> None:
        self.preload = list(preload)  # modules the helper imports once, at its start
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._warming: asyncio.Task[None] | None = None
        self._failures = 0  # helpers in a row that died before answering
        self._closed = False

    async def _helper(self) -> asyncio.subprocess.Process:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            # The helper imports this very package, wherever this process found it.
            source = str(Path(__file__).resolve().parent.parent)
            path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
            proc = self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ticketbridge.offload",
                *self.preload,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
            )
        return proc

    def start(self) -> None:
        """Start the helper in the background, ahead of its first use (a full sync does
        this before its catalog phase, so the ticket pages find it running)."""
        if not self._closed and self._proc is None and self._warming is None:
            self._warming = asyncio.get_running_loop().create_task(self._warm())

    async def _warm(self) -> None:
        await self.run(int)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the helper process (in this one when it cannot be used)."""
        if self._closed:
            return fn(*args)
        request = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        async with self._lock:
            try:
                proc = await self._helper()
            except OSError as exc:
                log.warning("offload_unavailable", error=repr(exc))
                self._closed = True
                return fn(*args)
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(_SIZE.pack(len(request)) + request)
                await proc.stdin.drain()
                (size,) = _SIZE.unpack(await proc.stdout.readexactly(_SIZE.size))
                if size > _LIMIT:
                    raise EOFError("offload: frame out of step")
                ok, value = pickle.loads(await proc.stdout.readexactly(size))
            except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
                log.warning("offload_worker_died", error=repr(exc))
                await self._stop()
                self._failures += 1
                if self._failures >= _GIVE_UP:  # it dies at start: stop paying for tries
                    log.warning("offload_disabled", failures=self._failures)
                    self._closed = True
                return fn(*args)
            except BaseException:  # cancelled mid-call: its answer would be read by the next
                await asyncio.shield(self._stop())
                raise
        self._failures = 0
        if not ok:  # it raised there: raise it here, the real exception with its traceback
            return fn(*args)
        return value  # type: ignore[no-any-return]

    async def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()

    def worker_pids(self) -> list[int]:
        """The helper's process id, when it runs (benchmarks read its CPU time)."""
        proc = self._proc
        return [proc.pid] if proc is not None and proc.returncode is None else []

    async def aclose(self) -> None:
        self._closed = True
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
        async with self._lock:
            proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        assert proc.stdin is not None
        proc.stdin.close()  # the helper's end of input: it exits
        try:
            await asyncio.wait_for(proc.wait(), timeout=5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def _serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The helper's loop: a call per frame, its result (or exception) back, until EOF.

    The cyclic garbage collector is off while a call runs: a decoded page is tens of
    thousands of fresh (acyclic) objects, whose allocation would trigger collections that
    scan them all again (5% of the mapping's CPU); reference counting frees them, and a
    collection every 64 calls catches any cycle."""
    calls = 0
    gc.freeze()  # what the imports made stays out of every collection
    gc.disable()
    while True:
        calls += 1
        if calls % 64 == 0:
            gc.collect()
        head = stdin.read(_SIZE.size)
        if len(head) < _SIZE.size:
            return
        (size,) = _SIZE.unpack(head)
        fn, args = pickle.loads(stdin.read(size))
        try:
            answer = pickle.dumps((True, fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # the functions are pure: the caller runs it again to raise it
            answer = pickle.dumps((False, None))
        stdout.write(_SIZE.pack(len(answer)) + answer)
        stdout.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The answers own the original stdout; anything printed goes to stderr instead.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for name in sys.argv[1:]:
        importlib.import_module(name)
    _serve(sys.stdin.buffer, answers)
