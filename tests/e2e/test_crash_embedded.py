"""Embedded mode, for real: ``kill -9`` the service in the middle of bulk jobs, restart it,
and every job finishes with exactly one Jira issue per requested ticket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    BULK_CREATE,
    Api,
    FakeJira,
    base_env,
    create_tenant,
    job_statuses,
    tickets,
)
from tests.e2e.procs import Processes, create_api_key, free_port, wait_http, wait_until

pytestmark = pytest.mark.e2e

JOBS, PER_JOB = 4, 500  # 40 chunks of 50 against a Jira answering in 100 ms


def serve(processes: Processes, env: dict[str, str], port: int, name: str) -> Api:
    processes.start(name, ["serve", "--port", str(port)], env)
    api = Api(f"http://127.0.0.1:{port}")
    wait_http(f"{api.url}/healthz", processes.logs)
    return api


def crash_mid_jobs(
    processes: Processes, jira: FakeJira, tmp_path: Path, faults: dict[str, Any]
) -> tuple[Api, list[str]]:
    """Start the service, submit the jobs, kill -9 it once some chunks reached Jira, and
    restart it. Returns the API and the job ids."""
    env = base_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'tb.db'}")
    port = free_port()
    api = serve(processes, env, port, "serve-1")
    api.headers = create_tenant(api.url, create_api_key(env), jira.url)
    jira.faults({"latency_ms": 100, **faults})
    with api.client() as c:
        job_ids = []
        for j in range(JOBS):
            r = c.post("/v1/itsm/tickets/bulk", json={"tickets": tickets(j, PER_JOB)})
            assert r.status_code == 202, r.text
            job_ids.append(r.json()["job_id"])

    wait_until(lambda: jira.bulk_calls() >= 6, "chunks to reach Jira", 60, processes.logs)
    processes.started[-1].kill9()
    interrupted = jira.count()

    serve(processes, env, port, "serve-2")
    assert 0 < interrupted < JOBS * PER_JOB, "the kill did not land mid-way"
    return api, job_ids


def assert_exactly_once(api: Api, jira: FakeJira, job_ids: list[str], processes: Processes) -> None:
    def finished() -> bool:
        return all(
            j["status"] in ("SUCCESS", "FAILED") for j in job_statuses(api, job_ids).values()
        )

    wait_until(finished, "every job to finish", 120, processes.logs)
    jobs = job_statuses(api, job_ids)
    assert [j["status"] for j in jobs.values()] == ["SUCCESS"] * JOBS
    keys = [r["vendor_ticket_id"] for j in jobs.values() for r in j["results"]]
    assert len(keys) == len(set(keys)) == JOBS * PER_JOB
    assert jira.count() == JOBS * PER_JOB  # exactly one issue per requested ticket


class TestKillNine:
    def test_every_job_finishes_exactly_once(
        self, processes: Processes, fake_jira_server: FakeJira, tmp_path: Path
    ) -> None:
        api, job_ids = crash_mid_jobs(processes, fake_jira_server, tmp_path, {})

        assert_exactly_once(api, fake_jira_server, job_ids, processes)

    @pytest.mark.parametrize("mode", ["5xx", "drop"])
    def test_with_ambiguous_failures_too(
        self, processes: Processes, fake_jira_server: FakeJira, tmp_path: Path, mode: str
    ) -> None:
        # Jira applies some bulk creates and then answers 502 (or drops the connection).
        ambiguous = {"share": 0.3, "mode": mode, "status": 502, "count": 4, "routes": [BULK_CREATE]}

        api, job_ids = crash_mid_jobs(
            processes, fake_jira_server, tmp_path, {"seed": 11, "ambiguous": ambiguous}
        )

        assert_exactly_once(api, fake_jira_server, job_ids, processes)
        injected = fake_jira_server.stats()["faults"]
        assert injected.get(f"ambiguous_{mode}", 0) >= 1


class TestSurvivesRestartWithoutWork:
    def test_a_restart_with_nothing_to_resume_serves_normally(
        self, processes: Processes, fake_jira_server: FakeJira, tmp_path: Path
    ) -> None:
        env = base_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'tb.db'}")
        api = serve(processes, env, free_port(), "serve")
        api.headers = create_tenant(api.url, create_api_key(env), fake_jira_server.url)

        with httpx.Client(base_url=api.url, headers=api.headers, timeout=30) as c:
            r = c.post("/v1/itsm/tickets/bulk/sync", json={"tickets": tickets(0, 3)})

        assert r.status_code == 200 and r.json()["succeeded"] == 3
        assert fake_jira_server.count() == 3
