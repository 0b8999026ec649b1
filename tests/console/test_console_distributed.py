"""The console against distributed mode (PostgreSQL, one ``worker``): the job a worker runs
shows the same live progress and results as in embedded mode; the demo is not offered."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import SLOW, console_errors
from tests.e2e.conftest import FakeJira, base_env, create_tenant, tickets
from tests.e2e.procs import Processes, create_api_key, free_port, run_cli, wait_http
from tests.fixtures.database import scratch_database

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh_database(pg_server_url: str) -> Iterator[str]:
    with scratch_database(pg_server_url, f"tb_console_{uuid.uuid4().hex[:12]}") as url:
        yield url


def test_job_progress_from_a_worker(
    page: Page,
    processes: Processes,
    fake_jira_server: FakeJira,
    fresh_database: str,
    tmp_path: Path,
) -> None:
    env = base_env(tmp_path, database_url=fresh_database, mode="distributed")
    run_cli("db", "upgrade", env=env, timeout=120)
    port = free_port()
    processes.start("api", ["serve", "--port", str(port)], env)
    processes.start("worker", ["worker", "--concurrency", "2", "--name", "w1"], env)
    api = f"http://127.0.0.1:{port}"
    wait_http(f"{api}/healthz", processes.logs)
    key = create_api_key(env)
    headers = create_tenant(api, key, fake_jira_server.url)
    assert httpx.post(f"{api}/v1/demo", headers={"X-API-KEY": key}).status_code == 409
    job = httpx.post(
        f"{api}/v1/itsm/tickets/bulk", json={"tickets": tickets(0, 120)}, headers=headers
    )
    assert job.status_code == 202, job.text
    job_id = job.json()["job_id"]

    errors = console_errors(page)
    page.goto(f"{api}/")
    page.fill("#api-key", key)
    page.click("#signin button")
    expect(page.locator("#nav")).to_be_visible()
    page.goto(f"{api}/console/#/jobs/{job_id}")
    expect(page.locator("#job-status")).to_have_text("SUCCESS", timeout=SLOW)
    expect(page.locator("#job-detail")).to_contain_text("120/120")
    expect(page.locator("#job-detail tbody tr")).to_have_count(120)
    expect(page.locator("#job-detail tr.failed")).to_have_count(0)
    expect(page.locator("#job-list")).to_contain_text(re.compile(r"tickets\.bulk\w*"))
    page.click('#nav a[href="#/connections"]')
    expect(page.locator("#connections")).to_contain_text("e2e")
    expect(page.locator("#try-demo")).to_have_count(0)
    assert errors == []
