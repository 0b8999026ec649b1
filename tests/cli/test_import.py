"""``ticketbridge tickets import``: 500 rows with 5 bad ones → 495 issues in fakejira and 5
errors naming row, field and reason; a second run creates nothing new. Also ``jobs list|watch``
and ``connections list|test`` on the same data.

The commands run in-process (CliRunner) with their vendor calls going to fakejira through
``httpx.ASGITransport`` (``open_runtime``'s test seam)."""

from __future__ import annotations

import asyncio
import csv
import functools
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.fixtures.tenants import jira_credentials
from ticketbridge import cli, cli_ops
from ticketbridge.config import Settings
from ticketbridge.fakejira import FakeJiraState, Site, create_app
from ticketbridge.provisioning.schemas import ConnectionCreate, OrganizationCreate
from ticketbridge.provisioning.service import create_api_key, create_connection, create_organization
from ticketbridge.runtime import open_runtime

KEY = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
# Row number -> (bad row, the field the error must name).
BAD: dict[int, tuple[dict[str, Any], str]] = {
    7: ({"project_vendor_id": "DEMO", "type": "Task"}, "name"),
    42: (
        {"name": "x", "project_vendor_id": "DEMO", "type": "Task", "priority": "URGENT"},
        "priority",
    ),
    199: (
        {"name": "x", "project_vendor_id": "DEMO", "type": "Task", "due_date": "soon"},
        "due_date",
    ),
    350: ({"name": "x", "type": "Task"}, "project_vendor_id"),
    498: ({"name": "x", "project_vendor_id": "NOPE", "type": "Task"}, "NOPE"),
}


@pytest.fixture(autouse=True)
def no_settle_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ticketbridge.bulk.create.SETTLE_SECS", 0.0)


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    for name in [n for n in os.environ if n.startswith("TICKETBRIDGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", db_url)
    monkeypatch.setenv("TICKETBRIDGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", KEY)
    monkeypatch.setenv("TICKETBRIDGE_ALLOW_PRIVATE_VENDOR_URLS", "true")
    yield Settings()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeJiraState:
    state = FakeJiraState()
    transport = httpx.ASGITransport(app=create_app(state))
    monkeypatch.setattr(
        cli_ops, "open_runtime", functools.partial(open_runtime, vendor_transport=transport)
    )
    return state


@pytest.fixture
def site(fake: FakeJiraState) -> Site:
    return fake.site("acme.atlassian.net")


@pytest.fixture
def connection_id(env: Settings, site: Site) -> str:
    async def make() -> str:
        async with open_runtime(env) as rt, rt.session() as s:
            key, _ = await create_api_key(s, name="cli", account_name="acme")
            org = await create_organization(s, key.account_id, OrganizationCreate(name="o"))
            conn = await create_connection(
                s,
                rt.box,
                key.account_id,
                org.id,
                ConnectionCreate(vendor="JIRA", credentials=jira_credentials()),
                default_refresh_interval=900,
                url_policy=rt.url_policy,
            )
            return str(conn.id)

    return asyncio.run(make())


def rows_file(path: Path, total: int = 500) -> Path:
    with path.open("w") as f:
        for n in range(1, total + 1):
            row = (
                BAD[n][0]
                if n in BAD
                else {
                    "name": f"imported {n}",
                    "project_vendor_id": "DEMO",
                    "type": "Task",
                    "tags": ["import"],
                    **({"identifier": f"ROW-{n}"} if n % 2 else {}),
                }
            )
            f.write(json.dumps(row) + "\n")
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args))


class TestImport:
    def test_500_rows_with_5_bad_then_a_rerun_creates_nothing(
        self, connection_id: str, site: Site, tmp_path: Path
    ) -> None:
        source = rows_file(tmp_path / "tickets.jsonl")
        first = invoke("tickets", "import", str(source), "--connection", connection_id)
        assert first.exit_code == 1, first.output
        assert site.issues_count() == 495
        errors = [line for line in first.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 5, first.stderr
        for line, (number, (_, field)) in zip(errors, sorted(BAD.items()), strict=True):
            assert line.startswith(f"error: row {number}: "), line
            assert field in line, line
        assert "495 created, 0 skipped" in first.stdout
        results = [
            json.loads(x) for x in (tmp_path / "tickets.results.jsonl").read_text().splitlines()
        ]
        assert [r["row"] for r in results] == list(range(1, 501))
        assert {r["row"] for r in results if r["status"] == "failed"} == set(BAD)
        created = [r for r in results if r["status"] == "created"]
        assert len(created) == 495 and all(r["vendor_ticket_id"] and r["job_id"] for r in created)
        assert results[0]["identifier"] == "ROW-1"

        again = invoke("tickets", "import", str(source), "--connection", connection_id)
        assert again.exit_code == 1, again.output
        assert site.issues_count() == 495
        assert "0 created, 495 skipped" in again.stdout
        rerun = [
            json.loads(x) for x in (tmp_path / "tickets.results.jsonl").read_text().splitlines()
        ]
        assert [r["vendor_ticket_id"] for r in rerun if r["status"] == "skipped"] == [
            r["vendor_ticket_id"] for r in created
        ]

    def test_csv_rows_and_file_errors(self, connection_id: str, site: Site, tmp_path: Path) -> None:
        source = tmp_path / "t.csv"
        with source.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["name", "project_vendor_id", "type", "tags", "priority"])
            w.writerow(["first", "DEMO", "Task", "a;b", "HIGH"])
            w.writerow(["second", "DEMO", "Task", "", "nope"])
        r = invoke("tickets", "import", str(source), "--connection", connection_id)
        assert r.exit_code == 1 and site.issues_count() == 1, r.output
        assert "error: row 2: priority: " in r.stderr
        issue = next(iter(site.issues.values()))
        assert issue.summary == "first" and set(issue.labels) >= {"a", "b"}
        with (tmp_path / "t.results.csv").open() as f:
            assert [row["status"] for row in csv.DictReader(f)] == ["created", "failed"]

        bad = tmp_path / "t.txt"
        bad.write_text("x")
        r = invoke("tickets", "import", str(bad), "--connection", connection_id)
        assert r.exit_code == 2 and "unknown format" in r.stderr
        r = invoke("tickets", "import", str(source), "--connection", str(uuid.uuid4()))
        assert r.exit_code == 1 and "not found" in r.stderr


class TestJobsAndConnections:
    def test_jobs_list_watch_and_connections(
        self, connection_id: str, site: Site, tmp_path: Path
    ) -> None:
        source = rows_file(tmp_path / "few.jsonl", total=3)
        assert (
            invoke("tickets", "import", str(source), "--connection", connection_id).exit_code == 0
        )
        listed = invoke("jobs", "list", "--connection", connection_id)
        assert listed.exit_code == 0, listed.output
        job_id = next(line.split()[1] for line in listed.stdout.splitlines() if "SUCCESS" in line)
        watched = invoke("jobs", "watch", job_id)
        assert watched.exit_code == 0 and "SUCCESS" in watched.stdout, watched.output
        assert invoke("jobs", "watch", str(uuid.uuid4())).exit_code == 1

        conns = invoke("connections", "list")
        assert conns.exit_code == 0 and connection_id in conns.stdout
        assert "fake-token" not in conns.stdout
        tested = invoke("connections", "test", connection_id)
        assert tested.exit_code == 0 and "HEALTHY" in tested.stdout, tested.output


class TestInterrupted:
    def test_a_run_cut_after_its_job_was_recorded_is_finished_by_the_next(
        self, connection_id: str, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from ticketbridge.bulk import importer

        source = rows_file(tmp_path / "cut.jsonl", total=6)

        async def killed(*_: Any) -> Any:
            raise KeyboardInterrupt  # the operator's Ctrl-C right after the job row committed

        with monkeypatch.context() as m:
            m.setattr(importer, "_run_job", killed)
            cut = invoke("tickets", "import", str(source), "--connection", connection_id)
        assert cut.exit_code != 0 and site.issues_count() == 0
        # The record: the result file names the job that holds the rows.
        partial = [json.loads(x) for x in (tmp_path / "cut.results.jsonl").read_text().splitlines()]
        assert {r["status"] for r in partial} == {"pending"} and partial[0]["job_id"]

        again = invoke("tickets", "import", str(source), "--connection", connection_id)
        assert again.exit_code == 0, again.output
        assert site.issues_count() == 6  # the old job ran once; the rows were not sent again
        assert "0 created, 6 skipped" in again.stdout
