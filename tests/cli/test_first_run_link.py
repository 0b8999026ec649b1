"""``serve`` prints a one-time setup link on a database without accounts, and only then."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import Processes, clean_env, create_api_key, free_port, wait_http

pytestmark = pytest.mark.e2e

# With LOG_JSON the link is a JSON event of its own ("url"), otherwise a plain line.
LINK = re.compile(r"(http://127\.0\.0\.1:\d+)/console/#setup=([A-Za-z0-9_-]{40,})")


def _serve(procs: Processes, name: str, env: dict[str, str]) -> tuple[str, Path]:
    port = free_port()
    proc = procs.start(name, ["serve", "--port", str(port)], env)
    wait_http(f"http://127.0.0.1:{port}/healthz", procs.logs)
    return f"http://127.0.0.1:{port}", proc.log


def test_link_on_empty_database_works_once(tmp_path: Path) -> None:
    env = clean_env(tmp_path, log_json="true")
    with Processes(tmp_path) as procs:
        api, log = _serve(procs, "serve", env)
        match = LINK.search(log.read_text())
        assert match is not None and match.group(1) == api
        token = match.group(2)
        assert httpx.get(f"{api}/").headers["location"] == "/console/"
        assert httpx.get(f"{api}/v1/setup").json()["setup_pending"] is True
        done = httpx.post(f"{api}/v1/setup", json={"token": token})
        assert done.status_code == 201
        assert httpx.post(f"{api}/v1/setup", json={"token": token}).status_code == 404
        assert log.read_text().count(token) == 1  # the printed line only, never a log record
        assert done.json()["api_key"] not in log.read_text()


def test_no_link_once_an_account_exists(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    create_api_key(env)
    with Processes(tmp_path) as procs:
        api, log = _serve(procs, "serve", env)
        assert "First run" not in log.read_text()
        assert httpx.get(f"{api}/v1/setup").json()["setup_pending"] is False
        assert httpx.post(f"{api}/v1/setup", json={"token": "x" * 43}).status_code == 404
