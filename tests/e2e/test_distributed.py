"""Distributed mode, for real, on a PostgreSQL database of its own: two API processes only
enqueue, two ``ticketbridge worker`` processes run the jobs, one worker is killed mid-way;
once per vendor (a fakejira or a fakeservicenow process)."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.e2e.conftest import Api, VendorServer, base_env, create_tenant, job_statuses
from tests.e2e.procs import Processes, create_api_key, free_port, run_cli, wait_http, wait_until
from tests.fixtures.database import scratch_database

pytestmark = pytest.mark.e2e

# Two chunks per job; ServiceNow runs fewer jobs (its batches are the costlier calls here).
SIZES = {"JIRA": (20, 100), "SERVICENOW": (10, 100)}


@pytest.fixture
def fresh_database(pg_server_url: str) -> Iterator[str]:
    with scratch_database(pg_server_url, f"tb_e2e_{uuid.uuid4().hex[:12]}") as url:
        yield url


class TestWorkersOnPostgres:
    def test_jobs_survive_a_killed_worker_and_create_each_ticket_once(
        self,
        processes: Processes,
        vendor_server: VendorServer,
        fresh_database: str,
        tmp_path: Path,
    ) -> None:
        vendor = vendor_server
        jobs_count, per_job = SIZES[vendor.name]
        # The test polls 20 jobs in a loop: the per-key rate limit would answer 429s.
        env = base_env(
            tmp_path, database_url=fresh_database, mode="distributed", rate_limit_enabled="false"
        )
        upgraded = run_cli("db", "upgrade", env=env, timeout=120)
        assert b"procrastinate schema created" in upgraded.stdout
        apis = []
        for i in range(2):
            port = free_port()
            processes.start(f"api-{i}", ["serve", "--port", str(port)], env)
            apis.append(Api(f"http://127.0.0.1:{port}"))
        workers = [
            processes.start(f"worker-{i}", ["worker", "--concurrency", "4", "--name", f"w{i}"], env)
            for i in range(2)
        ]
        for api in apis:
            wait_http(f"{api.url}/healthz", processes.logs)
        headers = create_tenant(apis[0].url, create_api_key(env), vendor)
        for api in apis:
            api.headers = headers

        job_ids = []
        for j in range(jobs_count):
            with apis[j % 2].client() as c:
                r = c.post("/v1/itsm/tickets/bulk", json={"tickets": vendor.tickets(j, per_job)})
                assert r.status_code == 202, r.text
                job_ids.append(r.json()["job_id"])

        def running_by_pid() -> dict[int, list[str]]:
            with psycopg.connect(fresh_database) as conn:
                rows = conn.execute(
                    "SELECT id, lease_owner FROM jobs WHERE status = 'RUNNING'"
                ).fetchall()
            by_pid: dict[int, list[str]] = {}
            for job_id, owner in rows:
                by_pid.setdefault(int(str(owner).split(":")[1]), []).append(str(job_id))
            return by_pid

        def busy_worker() -> bool:
            return vendor.bulk_calls() >= 4 and any(
                w.popen is not None and w.popen.pid in running_by_pid() for w in workers
            )

        # Kill a worker that certainly holds a job mid-way (not one that happens to be idle).
        wait_until(busy_worker, "a worker to be mid-job", 60, processes.logs)
        held = running_by_pid()
        victim = max(
            (w for w in workers if w.popen is not None and w.popen.pid in held),
            key=lambda w: len(held[w.popen.pid]),  # type: ignore[union-attr]
        )
        victim_pid = victim.popen.pid  # type: ignore[union-attr]
        victim.kill9()
        # A commit the victim sent just before the kill still lands (a job's last chunk
        # finishes it). Once PostgreSQL has dropped the victim's sessions, the jobs it held
        # that did not end SUCCESS on their first attempt are the ones that must resume.
        time.sleep(1.0)
        with psycopg.connect(fresh_database) as conn:
            finished_by_victim = {
                str(row[0])
                for row in conn.execute(
                    "SELECT id FROM jobs WHERE id = ANY(%s::uuid[])"
                    " AND status = 'SUCCESS' AND attempts = 1",
                    (held[victim_pid],),
                ).fetchall()
            }
        victim_jobs = [j for j in held[victim_pid] if j not in finished_by_victim]
        assert victim_jobs, "the victim finished all its jobs before it died: nothing to resume"
        interrupted = vendor.count()

        def finished() -> bool:
            return all(
                j["status"] in ("SUCCESS", "FAILED")
                for j in job_statuses(apis[1], job_ids).values()
            )

        wait_until(finished, "every job to finish", 150, processes.logs)
        jobs = job_statuses(apis[0], job_ids)
        # The victim held a RUNNING job when killed (its vendor calls may all have been sent).
        assert 0 < interrupted <= jobs_count * per_job
        assert [j["status"] for j in jobs.values()] == ["SUCCESS"] * jobs_count
        keys = [r["vendor_ticket_id"] for j in jobs.values() for r in j["results"]]
        assert len(keys) == len(set(keys)) == jobs_count * per_job
        assert vendor.count() == jobs_count * per_job
        # Each requested ticket created once: none lost, none twice.
        requested = Counter(
            t["name"] for j in range(jobs_count) for t in vendor.tickets(j, per_job)
        )
        assert Counter(vendor.names()) == requested
        with psycopg.connect(fresh_database) as conn:
            attempts = conn.execute(
                "SELECT min(attempts) FROM jobs WHERE id = ANY(%s::uuid[])", (victim_jobs,)
            ).fetchone()
        assert attempts is not None and attempts[0] >= 2  # the killed worker's jobs resumed
