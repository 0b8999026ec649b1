"""The e2e scenario: a fakejira process, the service's API processes, a tenant over real HTTP.

Processes come from :mod:`tests.e2e.procs` and are always killed at the end of the test that
started them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import Processes, clean_env, free_port, wait_http

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
ADMIN = ("admin@example.com", "fake-token")
BULK_CREATE = "POST /rest/api/3/issue/bulk"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    with Processes(tmp_path) as procs:
        yield procs


def base_env(tmp: Path, **settings: str) -> dict[str, str]:
    defaults = {"secret_key": SECRET, "log_level": "WARNING", "bulk_max_tickets": "1000"}
    return clean_env(tmp, **{**defaults, **settings})


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
    wait_http(f"{jira.url}/_fake/stats", processes.logs, timeout=20)
    return jira


@dataclass
class Api:
    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30)


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
    """Poll as a well-behaved client: distributed mode rate-limits each key (429 + Retry-After)."""
    out: dict[str, dict[str, Any]] = {}
    with api.client() as c:
        for j in job_ids:
            while (r := c.get(f"/v1/jobs/{j}")).status_code == 429:
                time.sleep(float(r.headers["Retry-After"]))
            assert r.status_code == 200, r.text
            out[j] = r.json()
    return out
