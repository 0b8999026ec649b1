"""The foundation's "done when": a key from the CLI provisions a connection over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {timeout}s")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ticketbridge.cli", *args]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    e["TICKETBRIDGE_DATA_DIR"] = str(tmp_path / "data")
    e["TICKETBRIDGE_SCHEDULER_ENABLED"] = "false"
    return e


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        p.kill()
        p.wait(timeout=10)


class TestServeAndProvision:
    def test_key_from_cli_creates_org_and_jira_connection(
        self, env: dict[str, str], processes: list[subprocess.Popen[bytes]], tmp_path: Path
    ) -> None:
        out = subprocess.run(
            cli("api-keys", "create", "--name", "e2e", "--account", "acme"),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        key = out.stdout.strip().splitlines()[-1]
        assert key.startswith("tb_")

        jira_port, api_port = free_port(), free_port()
        processes.append(
            subprocess.Popen(
                cli("fake-jira", "--port", str(jira_port), "--seed", "50"),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        processes.append(
            subprocess.Popen(
                cli("serve", "--port", str(api_port)),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        api = f"http://127.0.0.1:{api_port}"
        wait_http(f"{api}/healthz")
        wait_http(f"http://127.0.0.1:{jira_port}/rest/api/3/serverInfo")
        assert httpx.get(f"{api}/readyz").json()["database"] == "ok"
        # Embedded mode generated the credentials key with owner-only permissions.
        secret = tmp_path / "data" / "secret.key"
        assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600

        headers = {"X-API-KEY": key}
        org = httpx.post(
            f"{api}/v1/provisioning/organizations", json={"name": "Acme"}, headers=headers
        )
        assert org.status_code == 201, org.text
        conn = httpx.post(
            f"{api}/v1/provisioning/organizations/{org.json()['id']}/connections",
            json={
                "vendor": "JIRA",
                "credentials": {
                    "base_url": f"http://127.0.0.1:{jira_port}",
                    "email": "admin@example.com",
                    "api_token": "fake-token",
                },
            },
            headers=headers,
        )
        assert conn.status_code == 201, conn.text
        check = httpx.post(
            f"{api}/v1/provisioning/connections/{conn.json()['id']}/test",
            headers=headers,
            timeout=30,
        )
        assert check.json()["health"] == "HEALTHY", check.text
