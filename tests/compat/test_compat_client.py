"""A compatible client, switched over unchanged, against real ``serve`` + ``fake-jira`` processes.

The client (:mod:`tests.compat.client`) knows only the public documentation. The test plays the
operator around it (API key from the CLI, a connector sync from the CLI, a classic-workflow
project in the emulator) and checks what the client sees and what Jira ends up holding.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.client import ApiError, Client, summary_of
from tests.e2e.conftest import ADMIN, FakeJira, base_env
from tests.e2e.procs import Processes, create_api_key, free_port, run_cli, wait_http
from tests.fixtures.database import scratch_database

pytestmark = pytest.mark.e2e

PROJECT = "CLS"  # a project on the classic workflow: Open -> In Progress -> Resolved -> Closed
BUG, TASK = 10004, 10001  # Jira issue type ids, numbers as Jira documents them
TRANSITION_CALLS = "POST /rest/api/3/issue/{issueIdOrKey}/transitions"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tb.db'}"
        return
    server: str = request.getfixturevalue("pg_server_url")
    with scratch_database(server, f"tb_compat_{uuid.uuid4().hex[:12]}") as url:
        yield url


def jira_issue(jira: FakeJira, key: str) -> dict[str, Any]:
    r = httpx.get(f"{jira.url}/_fake/issues/{key}", timeout=5)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def transition_calls(jira: FakeJira) -> int:
    return int(jira.stats()["requests"].get(TRANSITION_CALLS, 0))


class TestCompatibleClient:
    def test_a_documented_client_works_unchanged(
        self,
        processes: Processes,
        fake_jira_server: FakeJira,
        database_url: str,
        tmp_path: Path,
    ) -> None:
        jira = fake_jira_server
        r = httpx.post(
            f"{jira.url}/_fake/projects",
            json={"key": PROJECT, "name": "Classic", "workflow": "classic"},
            timeout=5,
        )
        assert r.status_code == 201, r.text
        env = base_env(tmp_path, database_url=database_url)
        run_cli("db", "upgrade", env=env, timeout=120)
        port = free_port()
        processes.start("serve", ["serve", "--port", str(port)], env)
        base_url = f"http://127.0.0.1:{port}"
        wait_http(f"{base_url}/healthz", processes.logs)

        # Provisioning, as documented: an organization, then its Jira connection.
        with Client(base_url, create_api_key(env)) as client:
            org = client.create_organization("Compat Corp")
            conn = client.create_connection(
                org["id"],
                {"base_url": jira.url, "email": ADMIN[0], "api_token": ADMIN[1]},
                identifier="compat-jira",
            )
            assert conn["vendor"] == "JIRA" and conn["organization_id"] == org["id"]
            client.connection_id = conn["id"]
            self._drive(client, jira, env, conn["id"])

    def _drive(self, client: Client, jira: FakeJira, env: dict[str, str], conn_id: str) -> None:
        # Dropdown data from passthrough: the vendor ids are usable as they are.
        assert PROJECT in [p["vendor_id"] for p in client.list_projects()]
        assert str(BUG) in [str(t["vendor_id"]) for t in client.list_issue_types(PROJECT)]

        # Create by vendor ids (numeric type id), then find it by the caller's identifier.
        created = client.create_ticket(
            name="Compat one",
            description="Created by a compatible client",
            project_vendor_id=PROJECT,
            type_vendor_id=BUG,
            priority="HIGH",
            identifier="COMPAT-1",
        )
        assert created["identifier"] == "COMPAT-1"
        # Not read back: the issue type's name comes from the catalog, never synced here (the
        # next sync brings it, docs/api-writes.md).
        assert created["name"] == "Compat one" and created["type"] is None
        assert created["status"] in ("OPEN", "TODO")
        assert created["project_vendor_id"] == PROJECT
        key = created["url"].rsplit("/browse/", 1)[1]  # the Jira key, as a user sees it
        assert jira_issue(jira, key)["issuetype_name"] == "Bug"
        assert jira_issue(jira, key)["id"] == int(created["vendor_attributes"]["id"])
        found = client.get_ticket_by_identifier("COMPAT-1")
        assert found["id"] == created["id"]

        # Open -> Resolved on the classic workflow takes two transitions, walked for the client.
        before = transition_calls(jira)
        resolved = client.update_ticket(created["id"], status="RESOLVED")
        assert resolved["status"] == "RESOLVED"
        assert jira_issue(jira, key)["status_name"] == "Resolved"
        assert transition_calls(jira) - before == 2

        # Bulk sync: vendor ids and identifiers; a duplicate identifier fails alone.
        item = {"project_vendor_id": PROJECT, "type_vendor_id": TASK}
        bulk = client.bulk_create_sync(
            [
                {**item, "name": "Compat two", "identifier": "COMPAT-2"},
                {**item, "name": "Compat dup", "identifier": "COMPAT-1"},
                # A field this service does not know is ignored, not a 422.
                {**item, "name": "Compat three", "identifier": "COMPAT-3", "x_client": "v1"},
            ]
        )
        assert (bulk["total"], bulk["succeeded"], bulk["failed"]) == (3, 2, 1)
        results = bulk["results"]
        assert [r["request_index"] for r in results] == [0, 1, 2]
        assert [r["success"] for r in results] == [True, False, True]
        assert isinstance(results[1]["error"], str) and "COMPAT-1" in results[1]["error"]
        assert results[0]["ticket_id"] is None  # vendor-id fields: no local persistence
        keys = {
            "COMPAT-2": results[0]["vendor_ticket_id"],
            "COMPAT-3": results[2]["vendor_ticket_id"],
        }
        assert jira_issue(jira, keys["COMPAT-2"])["summary"] == "Compat two"

        # Async bulk create, polled to its terminal state.
        job_id = client.bulk_create(
            [{**item, "name": f"Compat job {i}", "identifier": f"COMPAT/J{i}"} for i in range(3)]
        )
        job = client.wait_for_job(job_id)
        assert job["status"] == "SUCCESS", job
        job_keys = [r["vendor_ticket_id"] for r in job["results"]]
        assert len(set(job_keys)) == 3
        assert [jira_issue(jira, k)["summary"] for k in job_keys] == [
            f"Compat job {i}" for i in range(3)
        ]

        # Passthrough search: items in Jira's shape, read by key and fields.summary.
        items = client.search_all(f"project = {PROJECT} ORDER BY key ASC", limit=2)
        by_key = {i["key"]: summary_of(i) for i in items}
        assert by_key == {
            key: "Compat one",
            keys["COMPAT-2"]: "Compat two",
            keys["COMPAT-3"]: "Compat three",
            **{k: f"Compat job {i}" for i, k in enumerate(job_keys)},
        }

        # The connector sync (an operator's action here); identifiers survive it.
        run_cli("sync", "--connection", conn_id, env=env, timeout=120)
        again = client.get_ticket_by_identifier("COMPAT-1")
        assert again["id"] == created["id"]
        assert again["status"] == "RESOLVED"
        two = client.get_ticket_by_identifier("COMPAT-2")
        assert two["url"].endswith(f"/browse/{keys['COMPAT-2']}") and two["name"] == "Compat two"
        three = client.get_ticket_by_identifier("COMPAT-3")
        assert client.get_ticket_by_identifier("COMPAT/J1")["name"] == "Compat job 1"

        # Bulk update of synced tickets: Open -> Closed is three classic transitions each.
        job = client.wait_for_job(
            client.bulk_update([two["id"], three["id"]], {"status": "CLOSED"})
        )
        assert job["status"] == "SUCCESS", job
        assert [jira_issue(jira, keys[i])["status_name"] for i in ("COMPAT-2", "COMPAT-3")] == [
            "Closed",
            "Closed",
        ]
        assert client.get_ticket(two["id"])["status"] == "CLOSED"

        self._errors(client)

    def _errors(self, client: Client) -> None:
        """Every error is read as a ``detail`` string, fit to show."""
        with pytest.raises(ApiError) as unknown:
            client.get_ticket(str(uuid.uuid4()))
        assert unknown.value.status == 404 and isinstance(unknown.value.raw_detail, str)
        with pytest.raises(ApiError) as missing:
            client.get_ticket_by_identifier("NO-SUCH-IDENTIFIER")
        assert missing.value.status == 404 and isinstance(missing.value.raw_detail, str)
        with pytest.raises(ApiError) as invalid:
            client.create_ticket(
                name="Bad", project_vendor_id=PROJECT, type_vendor_id=BUG, priority="URGENT"
            )
        assert invalid.value.status == 422 and isinstance(invalid.value.raw_detail, str)
        assert "priority" in invalid.value.detail
        with pytest.raises(ApiError) as duplicate:
            client.create_ticket(
                name="Again", project_vendor_id=PROJECT, type_vendor_id=BUG, identifier="COMPAT-2"
            )
        assert duplicate.value.status == 409 and isinstance(duplicate.value.raw_detail, str)
        assert "COMPAT-2" in duplicate.value.detail
