"""Real processes on loopback: ``ticketbridge fake-jira``, ``serve`` and ``worker``.

Every process is started through :class:`Procs`, which stops whatever it started when it is
closed (SIGTERM, then SIGKILL after a grace). Output goes to ``<name>.log`` in the run's
temporary directory; a process that does not come up fails with the tail of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> list[str]:
    """``ticketbridge *args`` with this interpreter (so this venv)."""
    return [sys.executable, "-m", "ticketbridge.cli", *args]


def service_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This environment without any ``TICKETBRIDGE_*``, plus the bench's settings: a data dir
    of its own (SQLite unless ``database_url`` is given), no scheduler, quiet logs, loopback
    vendor URLs allowed (fakejira), and ``settings`` (``mode="distributed"`` sets
    ``TICKETBRIDGE_MODE``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    env.update(
        TICKETBRIDGE_DATA_DIR=str(data_dir),
        TICKETBRIDGE_SECRET_KEY=SECRET,
        TICKETBRIDGE_SCHEDULER_ENABLED="false",
        TICKETBRIDGE_ALLOW_PRIVATE_VENDOR_URLS="true",
        TICKETBRIDGE_LOG_LEVEL="WARNING",
    )
    env.update({f"TICKETBRIDGE_{k.upper()}": v for k, v in settings.items()})
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(cli(*args), env=env, capture_output=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"ticketbridge {' '.join(args)}: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


def create_api_key(env: dict[str, str]) -> str:
    """A new API key (the CLI prints it on its last line). The database must be migrated:
    ``serve`` does that in embedded mode, ``db upgrade`` otherwise."""
    return run_cli("api-keys", "create", "--name", "bench", env=env).strip().splitlines()[-1]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str | None = None
    ready_path: str | None = None  # answers 200 once the process serves

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class Procs:
    """Starts processes; as a context manager, guarantees they are all stopped at its end."""

    tmp: Path
    started: list[Proc] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                cli(*args),
                env=env if env is not None else dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def fake_jira(self, name: str = "fakejira", *, wait: bool = True) -> Proc:
        port = free_port()
        proc = self.start(name, ["fake-jira", "--port", str(port)])
        proc.url = f"http://127.0.0.1:{port}"
        proc.ready_path = "/_fake/stats"
        if wait:
            wait_ready(proc)
        return proc

    def serve(self, name: str, env: dict[str, str], *, wait: bool = True) -> Proc:
        port = free_port()
        proc = self.start(name, ["serve", "--port", str(port)], env)
        proc.url = f"http://127.0.0.1:{port}"
        proc.ready_path = "/healthz"
        if wait:
            wait_ready(proc)
        return proc

    def stop(self, proc: Proc) -> None:
        proc.stop()
        if proc in self.started:
            self.started.remove(proc)

    def close(self) -> None:
        for proc in reversed(self.started):
            proc.stop()
        self.started.clear()

    def __enter__(self) -> Procs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def wait_ready(*procs: Proc, timeout: float = 120) -> None:
    """Wait until each process answers 200 on its ready path; fail with the log's tail if
    one dies first or does not come up in time (startups overlap: call this once for all)."""
    deadline = time.monotonic() + timeout
    for proc in procs:
        url = f"{proc.url}{proc.ready_path}"
        while True:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name}: {url} not up after {timeout}s:\n{proc.tail()}")
            time.sleep(0.1)


def rss_mb(pid: int) -> float | None:
    """The current resident set size of ``pid`` in MB (``/proc``; Linux only)."""
    return _status_kb(pid, "VmRSS:")


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident set size over the life of ``pid`` (``VmHWM``) in MB."""
    return _status_kb(pid, "VmHWM:")


def _status_kb(pid: int, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` so far (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
