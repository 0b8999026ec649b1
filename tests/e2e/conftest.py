"""The e2e scenario: a vendor emulator process (fakejira or fakeservicenow), the service's API
processes, a tenant over real HTTP.

Processes come from :mod:`tests.e2e.procs` and are always killed at the end of the test that
started them. :class:`FakeJira` and :class:`FakeServiceNow` answer the same questions (the
connection to make, a bulk ticket body, bulk calls seen, records held, faults), so scenarios
whose behaviour is shared take the ``vendor_server`` fixture and run once per vendor.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from tests.e2e.procs import Processes, clean_env, free_port, wait_http

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
ADMIN = ("admin@example.com", "fake-token")
BULK_CREATE = "POST /rest/api/3/issue/bulk"
SNOW_ADMIN = ("admin", "fake-password")
SNOW_BATCH = "POST /api/now/v1/batch"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    with Processes(tmp_path) as procs:
        yield procs


def base_env(tmp: Path, **settings: str) -> dict[str, str]:
    defaults = {"secret_key": SECRET, "log_level": "WARNING", "bulk_max_tickets": "1000"}
    return clean_env(tmp, **{**defaults, **settings})


class VendorServer(Protocol):
    """What a shared scenario needs of a vendor emulator running as a process."""

    url: str
    name: str
    bulk_route: str  # the stats/fault key of one bulk create call (a chunk of 50)

    def connection(self) -> dict[str, Any]: ...
    def tickets(self, job: int, count: int) -> list[dict[str, Any]]: ...
    def stats(self) -> dict[str, Any]: ...
    def bulk_calls(self) -> int: ...
    def faults(self, config: dict[str, Any]) -> None: ...
    def count(self) -> int: ...
    def names(self) -> list[str]: ...


@dataclass
class FakeJira:
    url: str
    name: str = "JIRA"
    bulk_route: str = BULK_CREATE

    def connection(self) -> dict[str, Any]:
        return {
            "vendor": "JIRA",
            "credentials": {"base_url": self.url, "email": ADMIN[0], "api_token": ADMIN[1]},
        }

    def tickets(self, job: int, count: int) -> list[dict[str, Any]]:
        return tickets(job, count)

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

    def names(self) -> list[str]:
        """The summary of every DEMO issue (one entry per issue, duplicates kept)."""
        out: list[str] = []
        with httpx.Client(base_url=self.url, auth=ADMIN, timeout=30) as c:
            token: str | None = None
            while True:
                body: dict[str, Any] = {
                    "jql": "project = DEMO",
                    "fields": ["summary"],
                    "maxResults": 5000,
                }
                if token:
                    body["nextPageToken"] = token
                r = c.post("/rest/api/3/search/jql", json=body)
                assert r.status_code == 200, r.text
                page = r.json()
                out += [i["fields"]["summary"] for i in page["issues"]]
                token = page.get("nextPageToken")
                if not token:
                    return out


@dataclass
class FakeServiceNow:
    """``ticketbridge fake-servicenow`` on plain HTTP: the default instance, reached by the
    connection as a full instance URL (the URL policy allows loopback in these tests)."""

    url: str
    name: str = "SERVICENOW"
    bulk_route: str = SNOW_BATCH

    def connection(self) -> dict[str, Any]:
        return {
            "vendor": "SERVICENOW",
            "credentials": {
                "instance": self.url,
                "username": "integration",
                "password": "fake-password",
            },
        }

    def tickets(self, job: int, count: int) -> list[dict[str, Any]]:
        # ServiceNow has no projects; an incident needs nothing but its short description.
        return [{"name": f"e2e {job}-{i}"} for i in range(count)]

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.url}/_fake/stats", timeout=5).json()
        return result

    def bulk_calls(self) -> int:
        return int(self.stats()["requests"].get(SNOW_BATCH, 0))

    def faults(self, config: dict[str, Any]) -> None:
        r = httpx.put(f"{self.url}/_fake/faults", json=config, timeout=5)
        assert r.status_code == 200, r.text

    def count(self) -> int:
        r = httpx.get(
            f"{self.url}/api/now/table/incident",
            params={"sysparm_fields": "sys_id", "sysparm_limit": "1"},
            auth=SNOW_ADMIN,
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return int(r.headers["X-Total-Count"])

    def names(self) -> list[str]:
        """The short description of every incident (one entry per record)."""
        r = httpx.get(
            f"{self.url}/api/now/table/incident",
            params={"sysparm_fields": "short_description", "sysparm_limit": "100000"},
            auth=SNOW_ADMIN,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return [rec["short_description"] for rec in r.json()["result"]]


def start_fake_jira(processes: Processes, tmp_path: Path) -> FakeJira:
    port = free_port()
    processes.start(
        "fakejira",
        ["fake-jira", "--port", str(port), "--latency-ms", "100"],
        base_env(tmp_path),
    )
    jira = FakeJira(f"http://127.0.0.1:{port}")
    wait_http(f"{jira.url}/_fake/stats", processes.logs, timeout=60)
    return jira


def start_fake_servicenow(processes: Processes, tmp_path: Path) -> FakeServiceNow:
    port = free_port()
    processes.start(
        "fakeservicenow",
        ["fake-servicenow", "--port", str(port), "--latency-ms", "100"],
        base_env(tmp_path),
    )
    snow = FakeServiceNow(f"http://127.0.0.1:{port}")
    wait_http(f"{snow.url}/_fake/stats", processes.logs, timeout=60)
    return snow


@pytest.fixture
def fake_jira_server(processes: Processes, tmp_path: Path) -> FakeJira:
    return start_fake_jira(processes, tmp_path)


@pytest.fixture(params=["JIRA", "SERVICENOW"])
def vendor_server(
    request: pytest.FixtureRequest, processes: Processes, tmp_path: Path
) -> VendorServer:
    """The vendor's emulator as a process, once per vendor."""
    if request.param == "JIRA":
        return start_fake_jira(processes, tmp_path)
    return start_fake_servicenow(processes, tmp_path)


@dataclass
class Api:
    url: str
    headers: dict[str, str] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=30)


def create_tenant(api_url: str, api_key: str, vendor: str | VendorServer) -> dict[str, str]:
    """An organization with one connection: to ``vendor`` (a Jira URL means fakejira's)."""
    server = FakeJira(vendor) if isinstance(vendor, str) else vendor
    headers = {"X-API-KEY": api_key}
    with httpx.Client(base_url=api_url, headers=headers, timeout=30) as c:
        org = c.post("/v1/provisioning/organizations", json={"name": "e2e"})
        assert org.status_code == 201, org.text
        conn = c.post(
            f"/v1/provisioning/organizations/{org.json()['id']}/connections",
            json=server.connection(),
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
