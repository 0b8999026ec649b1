"""Real ``ticketbridge`` processes on loopback, for the e2e and CLI tests.

Every process is started through :class:`Processes`, which kills whatever is still running
when it is closed; output goes to ``<name>.log`` files (shown when a wait times out), and every
wait is bounded in time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> list[str]:
    """The command line of ``ticketbridge *args`` (this interpreter, so this venv)."""
    return [sys.executable, "-m", "ticketbridge.cli", *args]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run ``ticketbridge *args`` to completion; a non-zero exit fails the test."""
    return subprocess.run(cli(*args), env=env, capture_output=True, timeout=timeout, check=True)


def create_api_key(env: dict[str, str], *options: str) -> str:
    """A new API key from ``ticketbridge api-keys create`` (its last output line)."""
    run_cli("db", "upgrade", env=env)  # only `serve` creates a database implicitly
    out = run_cli("api-keys", "create", "--name", "e2e", *options, env=env)
    return out.stdout.decode().strip().splitlines()[-1]


def clean_env(tmp: Path, **settings: str) -> dict[str, str]:
    """This environment without any ``TICKETBRIDGE_*``, plus a data dir under ``tmp``, no
    scheduler, and ``settings`` (``database_url=...`` sets ``TICKETBRIDGE_DATABASE_URL``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    env.update(TICKETBRIDGE_DATA_DIR=str(tmp / "data"), TICKETBRIDGE_SCHEDULER_ENABLED="false")
    # fakejira listens on http://127.0.0.1: the vendor URL policy must allow it.
    env.update(TICKETBRIDGE_ALLOW_PRIVATE_VENDOR_URLS="true")
    env.update({f"TICKETBRIDGE_{k.upper()}": v for k, v in settings.items()})
    return env


def wait_until(check: Callable[[], bool], what: str, timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")


def wait_http(url: str, logs: list[Path], timeout: float = 120) -> None:
    """Wait until ``url`` answers 200 (a process's health or info route).

    The bound is generous on purpose: a ``serve`` start took 18-27 s on the 2-core machine at
    load 8-16, and a healthy start returns as soon as it answers, so only a hung one waits."""
    wait_until(lambda: httpx.get(url).status_code == 200, url, timeout, logs)


@dataclass
class Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        out = self.log.open("ab")
        self.popen = subprocess.Popen(
            cli(*self.args),
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        out.close()
        return self

    def kill9(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)


@dataclass
class Processes:
    """Starts processes and, as a context manager, guarantees they are all gone at its end."""

    tmp: Path
    started: list[Proc] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, args, env, self.tmp / f"{name}.log").start()
        self.started.append(proc)
        return proc

    @property
    def logs(self) -> list[Path]:
        return [p.log for p in self.started]

    def cleanup(self) -> None:
        for proc in self.started:
            proc.kill9()

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
