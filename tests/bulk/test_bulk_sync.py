"""``POST /v1/itsm/tickets/bulk/sync``: per-item results in request order, one vendor call per
50 tickets, the store for UUID forms only, exactly once under ambiguous failures."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.bulk.conftest import BULK_CREATE, SEARCH, SYNC_URL, stats, ticket
from tests.fixtures.service import RecordingSleep
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.config import Settings
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import IssueType, Project, Ticket, User
from ticketbridge.sync.service import run_sync


def keys_of(body: dict[str, Any]) -> list[str | None]:
    return [r["vendor_ticket_id"] for r in body["results"]]


class TestPerItemResults:
    async def test_two_invalid_items_fail_alone_in_one_vendor_call(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        tickets = [ticket(i) for i in range(50)]
        # Ours: two forms of one field. Jira's: a custom field value Jira refuses.
        tickets[3] = ticket(3, project_id=str(uuid.uuid4()))
        tickets[17] = ticket(17, custom_fields={"customfield_10016": "many"})
        ops_site.stats.reset()

        r = await client.post(SYNC_URL, json={"tickets": tickets}, headers=tenant.headers)

        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["total"], body["succeeded"], body["failed"]) == (50, 48, 2)
        assert [x["request_index"] for x in body["results"]] == list(range(50))
        failed = {x["request_index"]: x["error"] for x in body["results"] if not x["success"]}
        assert set(failed) == {3, 17}
        assert "mutually exclusive" in failed[3]
        assert "customfield_10016" in failed[17]
        assert stats(ops_site)[BULK_CREATE] == 1
        assert ops_site.issues_count() == 48
        for result in body["results"]:
            if result["success"]:
                issue = ops_site.get_issue(result["vendor_ticket_id"])
                assert issue.summary == f"bulk ticket {result['request_index']}"

    async def test_vendor_id_forms_answer_no_ticket_id_but_keep_their_identifiers(
        self, client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
    ) -> None:
        r = await client.post(
            SYNC_URL, json={"tickets": [ticket(i) for i in range(3)]}, headers=tenant.headers
        )

        body = r.json()
        assert body["succeeded"] == 3
        assert [x["ticket_id"] for x in body["results"]] == [None, None, None]
        # Stored all the same, so each identifier is unique and findable at once.
        async with runtime.session() as s:
            stored = set(await s.scalars(select(Ticket.identifier)))
        assert stored == {x["identifier"] for x in body["results"]}

    async def test_caller_identifiers_are_kept_and_duplicates_refused(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        tickets = [ticket(0, identifier="VULN-1"), ticket(1, identifier="VULN-1")]

        body = (
            await client.post(SYNC_URL, json={"tickets": tickets}, headers=tenant.headers)
        ).json()

        assert body["results"][0]["success"] is True
        assert body["results"][0]["identifier"] == "VULN-1"
        assert "already used by request_index 0" in body["results"][1]["error"]
        assert ops_site.issues_count() == 1

    async def test_statuses_are_applied_and_an_unreachable_one_keeps_the_issue(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ops_site.set_screen("DEMO", "31", ["resolution"])  # Done needs a field we never send
        tickets = [
            ticket(0, status="IN_PROGRESS"),
            ticket(1, status="IN_REVIEW"),
            ticket(2, status="OPEN"),
            ticket(3, status="CLOSED"),
            ticket(4),
        ]

        body = (
            await client.post(SYNC_URL, json={"tickets": tickets}, headers=tenant.headers)
        ).json()

        names = [ops_site.get_issue(r["vendor_ticket_id"]).status.name for r in body["results"]]
        assert names == ["In Progress", "In Progress", "To Do", "To Do", "To Do"]
        # A status never deletes a created issue: CLOSED was out of reach, the issue stays.
        assert all(r["success"] for r in body["results"]), body
        assert ops_site.issues_count() == 5
        assert stats(ops_site).get("DELETE /rest/api/3/issue/{issueIdOrKey}", 0) == 0


class TestStoredAtJirasFloor:
    """Stored tickets are built from the request, the catalog and Jira's bulk answer: one
    vendor call per 50 tickets and nothing else; the next sync brings what only Jira knows."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"bulk_max_tickets": 120})

    async def test_uuid_forms_make_one_call_per_fifty_and_store_the_right_rows(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        async with runtime.session() as s:
            ops = await s.scalar(select(Project).where(Project.key == "OPS"))
            assert ops is not None
            bug = await s.scalar(
                select(IssueType).where(IssueType.project_id == ops.id, IssueType.name == "Bug")
            )
            dev = await s.scalar(select(User).where(User.email == "dev@example.com"))
        assert bug is not None and dev is not None
        tickets: list[dict[str, Any]] = [
            {
                "name": f"stored {i}",
                "project_id": str(ops.id),
                # every form of the issue type: its name, its UUID, its Jira id
                **[{"type": "bug"}, {"type": str(bug.id)}, {"type_vendor_id": bug.vendor_id}][
                    i % 3
                ],
                "assigned_user_id": str(dev.id),
                "priority": "HIGH",
                "tags": ["sec"],
            }
            for i in range(120)
        ]
        ops_site.stats.reset()

        r = await client.post(SYNC_URL, json={"tickets": tickets}, headers=synced.headers)

        body = r.json()
        assert body["succeeded"] == 120, body
        assert stats(ops_site) == {BULK_CREATE: 3}  # ceil(120 / 50), no read-back
        listed = await client.get(
            "/v1/itsm/tickets", params={"limit": 1000}, headers=synced.headers
        )
        by_id = {t["id"]: t for t in listed.json()["items"]}
        for result in body["results"]:
            i = result["request_index"]
            stored = by_id[result["ticket_id"]]
            issue = ops_site.get_issue(result["vendor_ticket_id"])
            assert stored["identifier"] == result["identifier"]
            assert stored["vendor_attributes"]["data"]["key"] == issue.key
            assert stored["vendor_attributes"]["id"] == str(issue.id)
            assert stored["url"].endswith(f"/browse/{issue.key}")
            assert (stored["project_id"], stored["project_vendor_id"]) == (str(ops.id), "OPS")
            assert (stored["type_id"], stored["type"]) == (str(bug.id), "Bug")
            assert stored["assigned_user_id"] == str(dev.id)
            assert stored["assigned_user_vendor_id"] == dev.vendor_id == issue.assignee
            assert (stored["name"], stored["priority"], stored["tags"]) == (
                f"stored {i}",
                "HIGH",
                ["sec"],
            )
            assert stored["status"] == "TODO" and issue.status.name == "To Do"
            by_identifier = await client.get(
                f"/v1/itsm/tickets/by-identifier/{result['identifier']}", headers=synced.headers
            )
            assert by_identifier.json()["id"] == result["ticket_id"]

    async def test_caller_identifiers_add_one_uniqueness_search_per_request(
        self, client: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        tickets = [
            {"name": f"t{i}", "project_vendor_id": "DEMO", "type_vendor_id": "10001"}
            | {"identifier": f"VULN-{i}"}
            for i in range(60)
        ]
        ops_site.stats.reset()

        body = (
            await client.post(SYNC_URL, json={"tickets": tickets}, headers=tenant.headers)
        ).json()

        assert body["succeeded"] == 60
        assert stats(ops_site) == {BULK_CREATE: 2, SEARCH: 1}  # are they new in Jira?
        async with runtime.session() as s:
            stored = {
                i: k for i, k in await s.execute(select(Ticket.identifier, Ticket.vendor_key))
            }
        assert stored == {r["identifier"]: r["vendor_ticket_id"] for r in body["results"]}
        assert set(stored) == {f"VULN-{i}" for i in range(60)}

    async def test_the_next_sync_brings_what_only_jira_knows(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        body = (
            await client.post(
                SYNC_URL, json={"tickets": [ticket(i) for i in range(3)]}, headers=synced.headers
            )
        ).json()
        async with runtime.session() as s:
            before = list(await s.scalars(select(Ticket).where(Ticket.vendor_key.like("DEMO-%"))))
        assert [t.ticket_created_at for t in before] == [None] * 3

        await run_sync(runtime, cid(synced))

        async with runtime.session() as s:
            after = {
                t.identifier: t
                for t in await s.scalars(select(Ticket).where(Ticket.vendor_key.like("DEMO-%")))
            }
        assert set(after) == {r["identifier"] for r in body["results"]}
        for t in after.values():
            assert t.ticket_created_at is not None and t.vendor_updated_at is not None
            assert t.created_by_user_id is not None  # the reporter, known to Jira only
            assert t.priority == "MEDIUM"  # Jira's default priority


class TestBatchSize:
    async def test_more_than_the_cap_is_422_naming_tickets(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        r = await client.post(
            SYNC_URL, json={"tickets": [ticket(i) for i in range(51)]}, headers=tenant.headers
        )

        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "tickets"]
        assert ops_site.issues_count() == 0

    async def test_an_empty_list_is_422(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        r = await client.post(SYNC_URL, json={"tickets": []}, headers=tenant.headers)

        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "tickets"]


class TestRaisedCap:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"bulk_max_tickets": 120})

    async def test_chunks_of_fifty_keep_request_order(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        tickets = [ticket(i) for i in range(120)]
        ops_site.stats.reset()

        body = (
            await client.post(SYNC_URL, json={"tickets": tickets}, headers=tenant.headers)
        ).json()

        assert body["succeeded"] == 120
        assert stats(ops_site)[BULK_CREATE] == 3
        for result in body["results"]:
            issue = ops_site.get_issue(result["vendor_ticket_id"])
            assert issue.summary == f"bulk ticket {result['request_index']}"
        assert len(set(keys_of(body))) == 120


class TestExactlyOnce:
    async def test_an_ambiguous_5xx_is_reconciled_by_markers(
        self, client: httpx.AsyncClient, synced: Tenant, runtime: Runtime, ops_site: Site
    ) -> None:
        # Jira applies the bulk create, then answers 504: the service must not send it again.
        async with runtime.session() as s:
            ops = await s.scalar(select(Project).where(Project.key == "OPS"))
        assert ops is not None
        tickets = [{"name": f"t{i}", "project_id": str(ops.id), "type": "Bug"} for i in range(10)]
        ops_site.faults.configure(
            {"ambiguous": {"mode": "5xx", "status": 504, "count": 1, "routes": [BULK_CREATE]}}
        )
        ops_site.stats.reset()

        body = (
            await client.post(SYNC_URL, json={"tickets": tickets}, headers=synced.headers)
        ).json()

        assert body["succeeded"] == 10
        assert ops_site.issues_count() == 10
        # The create, then the one marker search that finds all ten: nothing resent, nothing
        # read back besides.
        assert stats(ops_site) == {BULK_CREATE: 1, SEARCH: 1}
        assert len(set(keys_of(body))) == 10
        async with runtime.session() as s:
            stored = {
                k: (i, p)
                for k, i, p in await s.execute(
                    select(Ticket.vendor_key, Ticket.identifier, Ticket.project_id).where(
                        Ticket.vendor_key.like("OPS-%")
                    )
                )
            }
        assert stored == {r["vendor_ticket_id"]: (r["identifier"], ops.id) for r in body["results"]}

    async def test_a_dropped_answer_resends_only_what_is_missing(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        ops_site.faults.configure(
            {"ambiguous": {"mode": "drop", "count": 1, "routes": [BULK_CREATE]}}
        )

        body = (
            await client.post(
                SYNC_URL, json={"tickets": [ticket(i) for i in range(7)]}, headers=tenant.headers
            )
        ).json()

        assert body["succeeded"] == 7
        assert ops_site.issues_count() == 7

    async def test_jira_down_fails_the_items_after_checking_markers(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        # A plain 503 (not applied) every time: each retry is preceded by a marker search
        # that finds nothing; the items fail with Jira's status, and nothing exists.
        ops_site.faults.configure(
            {"error_rate": {"share": 1.0, "status": 503, "routes": [BULK_CREATE]}}
        )

        body = (
            await client.post(
                SYNC_URL, json={"tickets": [ticket(i) for i in range(4)]}, headers=tenant.headers
            )
        ).json()

        assert body["failed"] == 4
        assert all("unavailable" in r["error"] for r in body["results"])
        assert stats(ops_site)[BULK_CREATE] == 3
        assert stats(ops_site)[SEARCH] == 2
        assert ops_site.issues_count() == 0

    @pytest.mark.timeout(60)
    async def test_an_idempotency_key_replays_without_vendor_calls(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        headers = {**tenant.headers, "Idempotency-Key": "bulk-1"}
        payload = {"tickets": [ticket(i) for i in range(3)]}
        first = await client.post(SYNC_URL, json=payload, headers=headers)
        ops_site.stats.reset()

        again = await client.post(SYNC_URL, json=payload, headers=headers)
        other = await client.post(SYNC_URL, json={"tickets": [ticket(9)]}, headers=headers)

        assert again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert stats(ops_site) == {}
        assert other.status_code == 422
        assert ops_site.issues_count() == 3


class TestRateLimits:
    async def test_429s_are_waited_out_as_retry_after_says(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, retry_sleep: RecordingSleep
    ) -> None:
        ops_site.faults.configure(
            {"seed": 3, "rate_limit": {"share": 0.5, "retry_after": 2, "routes": [BULK_CREATE]}}
        )

        body = (
            await client.post(
                SYNC_URL, json={"tickets": [ticket(i) for i in range(5)]}, headers=tenant.headers
            )
        ).json()

        assert body["succeeded"] == 5
        assert ops_site.issues_count() == 5
        throttled = ops_site.faults.injected["rate_limited"]
        assert throttled >= 1
        assert retry_sleep.waits == [2.0] * throttled
