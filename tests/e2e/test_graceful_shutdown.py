"""SIGTERM is bounded by ``TICKETBRIDGE_SHUTDOWN_GRACE_SECS`` even while vendor calls hang,
and the job that was running is handed back so the next process resumes it; once per vendor
(a Jira bulk create, a ServiceNow Batch API call hangs)."""

from __future__ import annotations

import signal
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Api, VendorServer, base_env, create_tenant
from tests.e2e.procs import Processes, create_api_key, free_port, wait_http, wait_until

pytestmark = pytest.mark.e2e

GRACE_SECS = 2
HANGING_VENDOR_MS = 300_000  # far longer than any bound below
# A correctness bound, not a measurement: without the grace, SIGTERM waits for the vendor.
EXIT_BOUND_SECS = 30


def _job_row(db: Path, job_id: str) -> tuple[str, str | None]:
    with sqlite3.connect(db) as c:
        status, owner = c.execute(
            "SELECT status, lease_owner FROM jobs WHERE replace(id, '-', '') = ?",
            (job_id.replace("-", ""),),
        ).fetchone()
    return status, owner


def _chunk_sent(db: Path) -> bool:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT count(*) FROM job_chunks WHERE status = 'SENT'").fetchone()[0] > 0


class TestGracefulShutdown:
    def test_sigterm_is_bounded_and_the_job_resumes(
        self, processes: Processes, vendor_server: VendorServer, tmp_path: Path
    ) -> None:
        db = tmp_path / "tb.db"
        env = base_env(
            tmp_path, database_url=f"sqlite:///{db}", shutdown_grace_secs=str(GRACE_SECS)
        )
        port = free_port()
        api = Api(f"http://127.0.0.1:{port}")
        serve = processes.start("serve-1", ["serve", "--port", str(port)], env)
        wait_http(f"{api.url}/healthz", processes.logs)
        api.headers = create_tenant(api.url, create_api_key(env), vendor_server)
        vendor_server.faults({"latency_ms": HANGING_VENDOR_MS})

        answers: list[int | str] = []

        def slow_test_call() -> None:
            conn_id = api.headers["X-CONNECTION-ID"]
            try:
                with httpx.Client(base_url=api.url, headers=api.headers, timeout=120) as c:
                    answers.append(
                        c.post(f"/v1/provisioning/connections/{conn_id}/test").status_code
                    )
            except httpx.HTTPError as exc:
                answers.append(type(exc).__name__)

        caller = threading.Thread(target=slow_test_call)
        caller.start()
        with api.client() as c:
            r = c.post("/v1/itsm/tickets/bulk", json={"tickets": vendor_server.tickets(0, 2)})
            assert r.status_code == 202, r.text
            job_id = r.json()["job_id"]
        # The chunk's intent is committed right before its (hanging) vendor call.
        wait_until(lambda: _chunk_sent(db), "the job's vendor call", 30, processes.logs)

        assert serve.popen is not None
        serve.popen.send_signal(signal.SIGTERM)
        serve.popen.wait(EXIT_BOUND_SECS)
        caller.join(EXIT_BOUND_SECS)

        assert not caller.is_alive()
        assert answers and answers[0] != 200  # cut off, not answered after the vendor
        status, owner = _job_row(db, job_id)
        assert (status, owner) == ("RUNNING", None)  # handed back, not left leased

        vendor_server.faults({"latency_ms": 0})
        processes.start("serve-2", ["serve", "--port", str(port)], env)
        wait_http(f"{api.url}/healthz", processes.logs)
        wait_until(
            lambda: _job_row(db, job_id)[0] in {"SUCCESS", "FAILED"},
            "the resumed job",
            60,
            processes.logs,
        )
        with api.client() as c:
            job = c.get(f"/v1/jobs/{job_id}").json()
        assert job["status"] == "SUCCESS", job
