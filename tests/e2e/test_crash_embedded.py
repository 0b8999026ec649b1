"""Embedded mode, for real: ``kill -9`` the service in the middle of bulk jobs, restart it,
and every job finishes with exactly one vendor record per requested ticket; once per vendor
(a fakejira or a fakeservicenow process)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    Api,
    FakeJira,
    VendorServer,
    base_env,
    create_tenant,
    job_statuses,
    tickets,
)
from tests.e2e.procs import Processes, create_api_key, free_port, wait_http, wait_until

pytestmark = pytest.mark.e2e

# Jira: 40 chunks of 50 against a Jira answering in 100 ms. ServiceNow: 16 chunks (one Batch
# API call each), enough for a kill after 6 calls to land mid-way at a fraction of the cost.
SIZES = {"JIRA": (4, 500), "SERVICENOW": (4, 200)}


def serve(processes: Processes, env: dict[str, str], port: int, name: str) -> Api:
    processes.start(name, ["serve", "--port", str(port)], env)
    api = Api(f"http://127.0.0.1:{port}")
    wait_http(f"{api.url}/healthz", processes.logs)
    return api


def crash_mid_jobs(
    processes: Processes, vendor: VendorServer, tmp_path: Path, faults: dict[str, Any]
) -> tuple[Api, list[str]]:
    """Start the service, submit the jobs, kill -9 it once some chunks reached the vendor,
    and restart it. Returns the API and the job ids."""
    jobs, per_job = SIZES[vendor.name]
    env = base_env(tmp_path, database_url=f"sqlite:///{tmp_path / 'tb.db'}")
    port = free_port()
    api = serve(processes, env, port, "serve-1")
    api.headers = create_tenant(api.url, create_api_key(env), vendor)
    vendor.faults({"latency_ms": 100, **faults})
    with api.client() as c:
        job_ids = []
        for j in range(jobs):
            r = c.post("/v1/itsm/tickets/bulk", json={"tickets": vendor.tickets(j, per_job)})
            assert r.status_code == 202, r.text
            job_ids.append(r.json()["job_id"])

    wait_until(lambda: vendor.bulk_calls() >= 6, "chunks to reach the vendor", 60, processes.logs)
    processes.started[-1].kill9()
    interrupted = vendor.count()

    serve(processes, env, port, "serve-2")
    assert 0 < interrupted < jobs * per_job, "the kill did not land mid-way"
    return api, job_ids


def assert_exactly_once(
    api: Api, vendor: VendorServer, job_ids: list[str], processes: Processes
) -> None:
    jobs, per_job = SIZES[vendor.name]

    def finished() -> bool:
        return all(
            j["status"] in ("SUCCESS", "FAILED") for j in job_statuses(api, job_ids).values()
        )

    wait_until(finished, "every job to finish", 120, processes.logs)
    statuses = job_statuses(api, job_ids)
    assert [j["status"] for j in statuses.values()] == ["SUCCESS"] * jobs
    results = [r for j in statuses.values() for r in j["results"]]
    assert [r for r in results if r.get("error")] == []
    keys = [r["vendor_ticket_id"] for r in results]
    assert len(keys) == len(set(keys)) == jobs * per_job
    assert vendor.count() == jobs * per_job
    # Exactly one record per requested ticket: none lost, none twice.
    requested = Counter(t["name"] for j in range(jobs) for t in vendor.tickets(j, per_job))
    assert Counter(vendor.names()) == requested


class TestKillNine:
    def test_every_job_finishes_exactly_once(
        self, processes: Processes, vendor_server: VendorServer, tmp_path: Path
    ) -> None:
        api, job_ids = crash_mid_jobs(processes, vendor_server, tmp_path, {})

        assert_exactly_once(api, vendor_server, job_ids, processes)

    @pytest.mark.parametrize("mode", ["5xx", "drop"])
    def test_with_ambiguous_failures_too(
        self, processes: Processes, vendor_server: VendorServer, tmp_path: Path, mode: str
    ) -> None:
        # The vendor applies some bulk calls (a Jira bulk create, a ServiceNow batch) and
        # then answers 502 (or drops the connection).
        ambiguous = {
            "share": 0.3,
            "mode": mode,
            "status": 502,
            "count": 4,
            "routes": [vendor_server.bulk_route],
        }

        api, job_ids = crash_mid_jobs(
            processes, vendor_server, tmp_path, {"seed": 11, "ambiguous": ambiguous}
        )

        assert_exactly_once(api, vendor_server, job_ids, processes)
        injected = vendor_server.stats()["faults"]
        assert injected.get(f"ambiguous_{mode}", 0) >= 1


class TestServiceNowBatchItems:
    @pytest.mark.parametrize("vendor_server", ["SERVICENOW"], indirect=True)
    def test_items_applied_then_failed_inside_a_batch(
        self, processes: Processes, vendor_server: VendorServer, tmp_path: Path
    ) -> None:
        # A Batch API call answers 200 while some of its items were created and still carry
        # a 502: their outcome is unknown to the service, as after a failed call. A small
        # share spreads the faults over the whole run, not only over the chunks the kill
        # interrupts (those are reconciled by marker on resume anyway).
        ambiguous = {
            "share": 0.01,
            "mode": "5xx",
            "status": 502,
            "count": 6,
            "routes": ["POST /api/now/table/incident"],
        }

        api, job_ids = crash_mid_jobs(
            processes, vendor_server, tmp_path, {"seed": 7, "ambiguous": ambiguous}
        )

        assert_exactly_once(api, vendor_server, job_ids, processes)
        assert vendor_server.stats()["faults"].get("ambiguous_5xx", 0) >= 1


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
