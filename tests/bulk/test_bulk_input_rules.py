"""Request rules on bulk bodies: an item breaking a limit fails alone (bulk/sync), numbers as
vendor ids, unknown fields ignored, and the shared ``updates`` of bulk/update checked whole."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from tests.bulk.conftest import ASYNC_URL, SYNC_URL, UPDATE_URL, ticket
from tests.fixtures.tenants import Tenant
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Job


class TestBulkSyncItems:
    async def test_an_item_breaking_a_rule_fails_alone(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site
    ) -> None:
        tickets = [
            ticket(0),
            ticket(1, tags=[f"t{n}" for n in range(51)]),
            ticket(2, project_vendor_id="../../../rest/api/3/myself"),
            ticket(3, type_vendor_id=10004, type=None, project_vendor_id="DEMO"),
            ticket(4, project_vendor_id="NOPE"),
            ticket(5, name="spoof \u202etxt.exe"),
            ticket(6, custom_fields={"customfield_10030": "x" * (64 * 1024 + 1)}),
            ticket(7, surprise="ignored"),
        ]
        tickets[3].pop("type")
        ops_site.stats.reset()
        r = await client.post(
            SYNC_URL, json={"tickets": tickets, "also": "ignored"}, headers=tenant.headers
        )
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["request_index"] for x in results] == list(range(8))
        assert [x["success"] for x in results] == [
            True,
            False,
            False,
            True,
            False,
            False,
            False,
            True,
        ]
        assert "tags" in results[1]["error"]
        assert "project_vendor_id" in results[2]["error"]
        assert "project_vendor_id" in results[4]["error"]
        assert "name" in results[5]["error"]
        assert "custom_fields" in results[6]["error"]
        assert ops_site.issues_count() == 3
        assert ops_site.get_issue(results[3]["vendor_ticket_id"]).issuetype_id == "10004"


class TestBulkUpdateBody:
    async def test_updates_breaking_a_rule_are_a_422_and_no_job(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        body = {
            "ticket_ids": ["0190d6a4-5b1c-7cc0-8000-000000000000"],
            "updates": {"tags": ["ok", "x" * 256]},
        }
        r = await client.post(UPDATE_URL, json=body, headers=tenant.headers)
        assert r.status_code == 422 and "tags" in r.text
        async with runtime.session() as s:
            assert await s.scalar(select(func.count()).select_from(Job)) == 0


class TestNulCharacters:
    """PostgreSQL text/JSONB and Jira cannot hold U+0000: found by schemathesis as a 500 when
    an async job's payload was stored. Refused at the edge, naming where it was."""

    async def test_nul_anywhere_in_a_bulk_body_is_a_422_and_no_job(
        self, client: httpx.AsyncClient, tenant: Tenant, ops_site: Site, runtime: Runtime
    ) -> None:
        ops_site.stats.reset()
        bodies = [
            {"tickets": [ticket(0), {**ticket(1), "x\u0000y": 1}]},
            {"tickets": [ticket(0), ticket(1, custom_fields={"customfield_10030": "a\u0000"})]},
        ]
        for url in (ASYNC_URL, SYNC_URL):
            for body in bodies:
                r = await client.post(url, json=body, headers=tenant.headers)
                assert r.status_code == 422, r.text
                assert "NUL characters (U+0000) are not accepted (tickets[1]" in r.json()["detail"]
        async with runtime.session() as s:
            assert await s.scalar(select(func.count()).select_from(Job)) == 0
        assert ops_site.issues_count() == 0
