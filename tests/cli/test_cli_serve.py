"""The foundation's "done when": a key from the CLI provisions a connection over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import Processes, clean_env, create_api_key, free_port, wait_http

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    with Processes(tmp_path) as procs:
        yield procs


class TestServeAndProvision:
    def test_key_from_cli_creates_org_and_jira_connection(
        self, env: dict[str, str], processes: Processes, tmp_path: Path
    ) -> None:
        key = create_api_key(env, "--account", "acme")
        assert key.startswith("tb_")

        jira_port, api_port = free_port(), free_port()
        processes.start("fake-jira", ["fake-jira", "--port", str(jira_port), "--seed", "50"], env)
        processes.start("serve", ["serve", "--port", str(api_port)], env)
        api = f"http://127.0.0.1:{api_port}"
        wait_http(f"{api}/healthz", processes.logs)
        wait_http(f"http://127.0.0.1:{jira_port}/rest/api/3/serverInfo", processes.logs)
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
