"""Real processes on loopback: ``ticketbridge fake-jira``, ``ticketbridge serve`` and
``ticketbridge worker`` subprocesses, always killed at the end of the test that started them.

Every wait is bounded in time; process output goes to files under the test's tmp_path (shown
when a wait times out).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
ADMIN = ("admin@example.com", "fake-token")
BULK_CREATE = "POST /rest/api/3/issue/bulk"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
            [sys.executable, "-m", "ticketbridge.cli", *self.args],
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

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.kill9()


@dataclass
class Processes:
    """Starts processes and guarantees they are all gone when the test ends."""

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


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.cleanup()


def base_env(tmp: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    env.update(
        TICKETBRIDGE_DATA_DIR=str(tmp / "data"),
        TICKETBRIDGE_SECRET_KEY=SECRET,
        TICKETBRIDGE_LOG_LEVEL="WARNING",
        TICKETBRIDGE_SCHEDULER_ENABLED="false",
        TICKETBRIDGE_BULK_MAX_TICKETS="1000",
    )
    env.update({f"TICKETBRIDGE_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class FakeJira:
    url: str

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.url}/_fake/stats", timeout=5).json()
        return result

    def bulk_calls(self) -> int:
        return int(self.stats()["requests"].get(BULK_CREATE, 0))

    def faults(self, config: dict[str, Any]) -> None:
        r = httpx.put(f"{self.url}/_fake/faults", json=config, timeout=5)
        assert r.status_code == 200, r.text

    def count(self, jql: str = "project = DEMO") -> int:
        r = httpx.post(
            f"{self.url}/rest/api/3/search/approximate-count",
            json={"jql": jql},
            auth=ADMIN,
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return int(r.json()["count"])


@pytest.fixture
def fake_jira_server(processes: Processes, tmp_path: Path) -> FakeJira:
    port = free_port()
    processes.start(
        "fakejira",
        ["fake-jira", "--port", str(port), "--latency-ms", "100"],
        base_env(tmp_path),
    )
    jira = FakeJira(f"http://127.0.0.1:{port}")
    wait_until(
        lambda: httpx.get(f"{jira.url}/_fake/stats").status_code == 200,
        "fakejira",
        20,
        processes.logs,
    )
    return jira


@dataclass
class Api:
    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30)


def wait_healthy(url: str, processes: Processes, timeout: float = 30) -> None:
    wait_until(
        lambda: httpx.get(f"{url}/healthz").status_code == 200,
        f"service at {url}",
        timeout,
        processes.logs,
    )


def create_api_key(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "ticketbridge.cli", "api-keys", "create", "--name", "e2e"],
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return out.stdout.decode().strip().splitlines()[-1]


def create_tenant(api_url: str, api_key: str, jira_url: str) -> dict[str, str]:
    headers = {"X-API-KEY": api_key}
    with httpx.Client(base_url=api_url, headers=headers, timeout=30) as c:
        org = c.post("/v1/provisioning/organizations", json={"name": "e2e"})
        assert org.status_code == 201, org.text
        conn = c.post(
            f"/v1/provisioning/organizations/{org.json()['id']}/connections",
            json={
                "vendor": "JIRA",
                "credentials": {"base_url": jira_url, "email": ADMIN[0], "api_token": ADMIN[1]},
            },
        )
        assert conn.status_code == 201, conn.text
    return {**headers, "X-CONNECTION-ID": conn.json()["id"]}


def tickets(job: int, count: int) -> list[dict[str, Any]]:
    return [
        {"name": f"e2e {job}-{i}", "project_vendor_id": "DEMO", "type_vendor_id": "10001"}
        for i in range(count)
    ]


def job_statuses(api: Api, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    with api.client() as c:
        return {j: c.get(f"/v1/jobs/{j}").json() for j in job_ids}
