"""``ticketbridge fake-servicenow --tls``: a real process serving HTTPS with a certificate it
made at start, whose path it prints for clients to trust."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import Processes, clean_env, free_port, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    with Processes(tmp_path) as procs:
        yield procs


def test_fake_servicenow_serves_https_with_the_printed_certificate(
    processes: Processes, tmp_path: Path
) -> None:
    port = free_port()
    proc = processes.start(
        "fake-servicenow",
        ["fake-servicenow", "--port", str(port), "--seed", "20", "--tls"],
        clean_env(tmp_path),
    )
    pattern = re.compile(r"TLS certificate \(trust it as a CA bundle\): (\S+)")
    wait_until(
        lambda: pattern.search(proc.log.read_text()) is not None,
        "the certificate path",
        30,
        processes.logs,
    )
    found = pattern.search(proc.log.read_text())
    assert found is not None
    trusted = ssl.create_default_context(cafile=found.group(1))
    url = f"https://127.0.0.1:{port}/api/now/table/incident?sysparm_limit=1"

    def answers() -> bool:
        response = httpx.get(url, auth=("admin", "fake-password"), verify=trusted)
        return response.status_code == 200 and response.headers["X-Total-Count"] == "20"

    wait_until(answers, url, 30, processes.logs)
