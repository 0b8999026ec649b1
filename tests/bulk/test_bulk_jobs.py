"""The async bulk routes and ``/v1/jobs``: create and update jobs run by the embedded runner."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.bulk.conftest import (
    ASYNC_URL,
    BULK_CREATE,
    UPDATE_URL,
    stats,
    ticket,
    wait_job,
)
from tests.fixtures.service import RecordingSleep
from tests.fixtures.store import count_rows
from tests.fixtures.tenants import Tenant
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Job, Project, Ticket, User
from ticketbridge.sync.service import run_sync

BULK_TRANSITION = "POST /rest/api/3/bulk/issues/transition"
BULK_EDIT = "POST /rest/api/3/bulk/issues/fields"
TRANSITIONS = "GET /rest/api/3/issue/{issueIdOrKey}/transitions"


async def submit(client: httpx.AsyncClient, tenant: Tenant, url: str, body: Any) -> str:
    r = await client.post(url, json=body, headers=tenant.headers)
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]
    return job_id


async def stored_tickets(
    client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, count: int
) -> list[dict[str, Any]]:
    """``count`` tickets created through the API in project OPS and stored (UUID forms)."""
    async with runtime.session() as s:
        ops = await s.scalar(
            select(Project).where(
                Project.key == "OPS", Project.connection_id == uuid.UUID(str(tenant.connection_id))
            )
        )
    assert ops is not None
    body = {
        "tickets": [
            {"name": f"t{i}", "project_id": str(ops.id), "type": "Task"} for i in range(count)
        ]
    }
    job = await wait_job(client, tenant, await submit(client, tenant, ASYNC_URL, body))
    assert job["status"] == "SUCCESS", job
    return list(job["results"])


class TestBulkCreateJob:
    async def test_success_with_stored_tickets(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        results = await stored_tickets(client, synced, runtime, 3)

        assert [r["request_index"] for r in results] == [0, 1, 2]
        for r in results:
            assert r["success"] is True and r["error"] is None
            assert ops_site.get_issue(r["vendor_ticket_id"]).summary == f"t{r['request_index']}"
            got = await client.get(f"/v1/itsm/tickets/{r['ticket_id']}", headers=synced.headers)
            assert got.json()["identifier"] == r["identifier"]

    async def test_job_shape_while_and_after_running(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        job_id = await submit(client, tenant, ASYNC_URL, {"tickets": [ticket(0), ticket(1)]})

        job = await wait_job(client, tenant, job_id)

        assert job["id"] == job_id
        assert job["type"] == "tickets.bulk_create"
        assert job["status"] == "SUCCESS"
        assert job["progress"] == {"total": 2, "done": 2}
        assert job["failure_reason"] is None
        assert job["started_at"] is not None and job["finished_at"] is not None

    async def test_failed_items_make_a_failed_job_with_reasons(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        tickets = [ticket(0), ticket(1, type="Nope"), ticket(2, identifier="ID-2")]
        job_id = await submit(client, tenant, ASYNC_URL, {"tickets": tickets})

        job = await wait_job(client, tenant, job_id)

        assert job["status"] == "FAILED"
        reason = job["failure_reason"]
        assert (reason["total"], reason["succeeded"], reason["failed"]) == (3, 2, 1)
        bad = reason["results"][1]
        assert bad["success"] is False and bad["request_index"] == 1
        assert "unknown issue type 'Nope'" in bad["error"]
        assert reason["results"][2]["identifier"] == "ID-2"
        assert job["results"] == reason["results"]
        assert ops_site.issues_count() == 2

    async def test_more_than_the_cap_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        r = await client.post(
            ASYNC_URL, json={"tickets": [ticket(i) for i in range(51)]}, headers=tenant.headers
        )

        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "tickets"]
        assert "50" in r.json()["errors"][0]["msg"]
        assert await count_rows(runtime, Job) == 0
        assert ops_site.stats.total == 0

    @pytest.mark.timeout(60)
    async def test_an_idempotency_key_returns_the_same_job(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        headers = {**tenant.headers, "Idempotency-Key": "async-1"}
        body = {"tickets": [ticket(0)]}
        first = await client.post(ASYNC_URL, json=body, headers=headers)
        again = await client.post(ASYNC_URL, json=body, headers=headers)

        assert again.status_code == 202
        assert again.json() == first.json()
        await wait_job(client, tenant, first.json()["job_id"])
        assert ops_site.issues_count() == 1


class TestJobVisibility:
    async def test_another_accounts_job_is_404(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        job_id = await submit(client, tenant, ASYNC_URL, {"tickets": [ticket(0)]})

        mine = await client.get(f"/v1/jobs/{job_id}", headers=tenant.headers)
        theirs = await client.get(f"/v1/jobs/{job_id}", headers=other_tenant.headers)
        unknown = await client.get(f"/v1/jobs/{uuid.uuid4()}", headers=tenant.headers)

        assert mine.status_code == 200
        assert theirs.status_code == 404
        assert theirs.json() == {"detail": "job not found", "errors": []}
        assert unknown.status_code == 404
        assert unknown.json() == theirs.json()  # another's job and no job look the same

    async def test_list_filters_by_status_and_account(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        ok = await submit(client, tenant, ASYNC_URL, {"tickets": [ticket(0)]})
        bad = await submit(client, tenant, ASYNC_URL, {"tickets": [{"name": "no project"}]})
        await wait_job(client, tenant, ok)
        await wait_job(client, tenant, bad)
        await submit(client, other_tenant, ASYNC_URL, {"tickets": [ticket(1)]})

        everything = (await client.get("/v1/jobs", headers=tenant.headers)).json()
        failed = (await client.get("/v1/jobs?status=FAILED", headers=tenant.headers)).json()
        one = (await client.get("/v1/jobs?limit=1", headers=tenant.headers)).json()

        assert [j["id"] for j in everything["items"]] == [bad, ok]  # newest first
        assert everything["total"] == 2
        assert [j["id"] for j in failed["items"]] == [bad]
        assert (one["limit"], len(one["items"]), one["total"]) == (1, 1, 2)

    async def test_an_unknown_status_filter_is_422(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        r = await client.get("/v1/jobs?status=DONE", headers=tenant.headers)

        assert r.status_code == 422
        [error] = r.json()["errors"]
        assert error["loc"] == ["query", "status"]
        assert "DONE" not in r.text  # input is never echoed


class TestBulkUpdateJob:
    async def test_status_and_fields_in_bulk_calls(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        created = await stored_tickets(client, synced, runtime, 4)
        async with runtime.session() as s:
            dev = await s.scalar(
                select(User).where(
                    User.email == "dev@example.com",
                    User.connection_id == uuid.UUID(str(synced.connection_id)),
                )
            )
        assert dev is not None
        ops_site.stats.reset()
        body = {
            "ticket_ids": [r["ticket_id"] for r in created],
            "updates": {
                "status": "IN_PROGRESS",
                "priority": "HIGH",
                "name": "renamed",
                "description": "now **bold**",
                "assigned_user_id": str(dev.id),
            },
        }

        job = await wait_job(client, synced, await submit(client, synced, UPDATE_URL, body))

        assert job["status"] == "SUCCESS", job
        assert [r["ticket_id"] for r in job["results"]] == body["ticket_ids"]
        for r in created:
            issue = ops_site.get_issue(r["vendor_ticket_id"])
            assert issue.status.name == "In Progress"
            assert issue.summary == "renamed"
            assert issue.assignee == dev.vendor_id
            assert issue.priority_id == "2"  # High
            stored = (
                await client.get(f"/v1/itsm/tickets/{r['ticket_id']}", headers=synced.headers)
            ).json()
            assert (stored["status"], stored["priority"], stored["name"]) == (
                "IN_PROGRESS",
                "HIGH",
                "renamed",
            )
            assert stored["description"] == "now **bold**"
            assert stored["assigned_user_id"] == str(dev.id)
        calls = stats(ops_site)
        # One read of the workflow's transitions (both issues are in To Do), one bulk step.
        assert calls[TRANSITIONS] == 1
        assert calls[BULK_TRANSITION] == 1
        assert calls[BULK_EDIT] == 1
        assert "POST /rest/api/3/issue/{issueIdOrKey}/transitions" not in calls
        assert "PUT /rest/api/3/issue/{issueIdOrKey}" not in calls

    async def test_tickets_of_another_connection_are_refused_per_item(
        self,
        client: httpx.AsyncClient,
        synced: Tenant,
        other_tenant: Tenant,
        runtime: Runtime,
        ops_site: Site,
    ) -> None:
        await run_sync(runtime, uuid.UUID(str(other_tenant.connection_id)), full=True)
        mine = await stored_tickets(client, synced, runtime, 1)
        theirs = await stored_tickets(client, other_tenant, runtime, 1)
        ids = [mine[0]["ticket_id"], theirs[0]["ticket_id"], str(uuid.uuid4())]

        job = await wait_job(
            client,
            synced,
            await submit(
                client, synced, UPDATE_URL, {"ticket_ids": ids, "updates": {"name": "mine only"}}
            ),
        )

        assert job["status"] == "FAILED"
        results = job["failure_reason"]["results"]
        assert [r["success"] for r in results] == [True, False, False]
        assert results[1]["error"] == "ticket not found in this connection"
        assert ops_site.get_issue(mine[0]["vendor_ticket_id"]).summary == "mine only"
        assert ops_site.get_issue(theirs[0]["vendor_ticket_id"]).summary == "t0"

    async def test_an_unreachable_status_fails_every_item_with_its_reason(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        created = await stored_tickets(client, synced, runtime, 2)
        ops_site.set_screen("OPS", "21", ["resolution"])  # In Progress needs a field we never send
        body = {
            "ticket_ids": [r["ticket_id"] for r in created],
            "updates": {"status": "IN_PROGRESS", "name": "not applied"},
        }

        job = await wait_job(client, synced, await submit(client, synced, UPDATE_URL, body))

        assert job["status"] == "FAILED"
        reason = job["failure_reason"]
        assert (reason["succeeded"], reason["failed"]) == (0, 2)
        assert all("requires Resolution (resolution)" in r["error"] for r in reason["results"])
        # Fields are only edited on tickets whose transition succeeded.
        assert all(
            ops_site.get_issue(r["vendor_ticket_id"]).summary != "not applied" for r in created
        )

    @pytest.mark.parametrize(
        ("status", "jira_status", "steps"),
        [("CLOSED", "Closed", 3), ("RESOLVED", "Resolved", 2), ("OPEN", "Open", 0)],
    )
    async def test_classic_workflow_paths_in_bulk(
        self,
        client: httpx.AsyncClient,
        synced: Tenant,
        runtime: Runtime,
        ops_site: Site,
        status: str,
        jira_status: str,
        steps: int,
    ) -> None:
        created = await stored_tickets(client, synced, runtime, 3)
        # The issues start in To Do; OPS's workflow becomes the classic one, from Open.
        ops_site.find_project("OPS").workflow = "classic"  # type: ignore[union-attr]
        for r in created:
            ops_site.get_issue(r["vendor_ticket_id"]).status_id = "1"
        ops_site.stats.reset()
        body = {"ticket_ids": [r["ticket_id"] for r in created], "updates": {"status": status}}

        job = await wait_job(client, synced, await submit(client, synced, UPDATE_URL, body))

        assert job["status"] == "SUCCESS", job
        assert {ops_site.get_issue(r["vendor_ticket_id"]).status.name for r in created} == {
            jira_status
        }
        calls = stats(ops_site)
        # The first issue walks the path; the two others follow, one bulk call per step.
        assert calls.get("POST /rest/api/3/issue/{issueIdOrKey}/transitions", 0) == steps
        assert calls.get(BULK_TRANSITION, 0) == steps

    async def test_tags_are_replaced_keeping_the_markers(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        created = await stored_tickets(client, synced, runtime, 2)
        body = {"ticket_ids": [r["ticket_id"] for r in created], "updates": {"tags": ["x", "y"]}}

        job = await wait_job(client, synced, await submit(client, synced, UPDATE_URL, body))

        assert job["status"] == "SUCCESS"
        for r in created:
            labels = ops_site.get_issue(r["vendor_ticket_id"]).labels
            assert labels[:2] == ["x", "y"] and len(labels) == 3  # plus the marker
            stored = (
                await client.get(f"/v1/itsm/tickets/{r['ticket_id']}", headers=synced.headers)
            ).json()
            assert stored["tags"] == ["x", "y"]

    async def test_an_unknown_assignee_is_404_before_any_job(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime
    ) -> None:
        created = await stored_tickets(client, synced, runtime, 1)
        body = {
            "ticket_ids": [created[0]["ticket_id"]],
            "updates": {"assigned_user_id": str(uuid.uuid4())},
        }

        r = await client.post(UPDATE_URL, json=body, headers=synced.headers)

        assert r.status_code == 404
        assert (
            r.json()["detail"]
            == f"assigned_user_id: user {body['updates']['assigned_user_id']} not found"
        )
        jobs = (await client.get("/v1/jobs", headers=synced.headers)).json()
        assert jobs["total"] == 1  # only the create job

    async def test_empty_updates_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
    ) -> None:
        r = await client.post(
            UPDATE_URL,
            json={"ticket_ids": [str(uuid.uuid4())], "updates": {}},
            headers=tenant.headers,
        )

        assert r.status_code == 422
        [error] = r.json()["errors"]
        assert "updates must change at least one field" in error["msg"]
        assert await count_rows(runtime, Job) == 0


class TestRateLimitStorm:
    async def test_jobs_finish_without_duplicates_honouring_retry_after(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, retry_sleep: RecordingSleep
    ) -> None:
        ops_site.faults.configure({"seed": 7, "rate_limit": {"share": 0.3, "retry_after": 1}})
        jobs = [
            await submit(
                client, tenant, ASYNC_URL, {"tickets": [ticket(j * 10 + i) for i in range(10)]}
            )
            for j in range(5)
        ]

        finished = [await wait_job(client, tenant, j) for j in jobs]

        assert [j["status"] for j in finished] == ["SUCCESS"] * 5
        assert ops_site.issues_count() == 50
        summaries = sorted(i.summary for i in ops_site.issues.values())
        assert summaries == sorted(f"bulk ticket {n}" for n in range(50))
        throttled = ops_site.faults.injected["rate_limited"]
        assert throttled > 0 and ops_site.stats.statuses["429"] == throttled
        assert retry_sleep.waits == [1.0] * throttled  # every wait is the Retry-After
        assert stats(ops_site)[BULK_CREATE] >= 5


class TestFromTheStore:
    async def test_created_tickets_rows_match_the_results(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime
    ) -> None:
        results = await stored_tickets(client, synced, runtime, 3)

        async with runtime.session() as s:
            rows = (await s.scalars(select(Ticket).order_by(Ticket.vendor_key))).all()
        assert {str(t.id) for t in rows} >= {r["ticket_id"] for r in results}
        assert {t.identifier for t in rows} >= {r["identifier"] for r in results}


BULK_SUBMISSIONS = [
    "POST /rest/api/3/bulk/issues/fields",
    "POST /rest/api/3/bulk/issues/transition",
]


class TestBulkApiRefused:
    """A site where the bulk edit and bulk transition submissions are refused (403)."""

    async def test_falls_back_to_per_issue_calls(
        self,
        client: httpx.AsyncClient,
        synced: Tenant,
        runtime: Runtime,
        ops_site: Site,
    ) -> None:
        created = await stored_tickets(client, synced, runtime, 3)
        ops_site.stats.reset()
        refuse = {"status": 403, "message": "Bulk edit is disabled.", "routes": BULK_SUBMISSIONS}
        ops_site.faults.configure({"refuse": refuse})
        body = {
            "ticket_ids": [r["ticket_id"] for r in created],
            "updates": {"status": "CLOSED", "priority": "LOW", "name": "one by one"},
        }

        job = await wait_job(client, synced, await submit(client, synced, UPDATE_URL, body))

        assert job["status"] == "SUCCESS", job
        assert ops_site.faults.injected["refused"] == 2
        for r in created:
            issue = ops_site.get_issue(r["vendor_ticket_id"])
            assert (issue.status.name, issue.summary, issue.priority_id) == (
                "Done",
                "one by one",
                "4",
            )
        calls = stats(ops_site)
        assert calls["POST /rest/api/3/issue/{issueIdOrKey}/transitions"] == 3
        assert calls["PUT /rest/api/3/issue/{issueIdOrKey}"] == 3
