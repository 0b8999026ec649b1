"""A full sync of a seeded site lands every issue, project, issue type and user, with every
mapped field equal to the emulator's own state."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import select

from tests.fixtures.emulator import seed
from tests.fixtures.store import catalog, sync_state, tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.connectors.jira.adf import adf_to_markdown
from ticketbridge.fakejira import Site
from ticketbridge.fakejira.model import ISSUE_TYPES, PRIORITIES_BY_ID, STATUSES
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import ProjectUser
from ticketbridge.sync.service import run_sync

STATUS = {"To Do": "TODO", "In Progress": "IN_PROGRESS", "Done": "CLOSED"}
PRIORITY = {
    "Highest": "CRITICAL",
    "High": "HIGH",
    "Medium": "MEDIUM",
    "Low": "LOW",
    "Lowest": "INFORMATIONAL",
}


def at(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


class TestFullSync:
    @pytest.mark.slow
    async def test_every_issue_lands_with_every_field(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=1000, users=30)
        result = await run_sync(runtime, cid(tenant))

        assert (result.mode, result.tickets, result.changed) == ("full", 3000, 3000)
        tickets = await tickets_by_vendor_id(runtime, cid(tenant))
        cat = await catalog(runtime, cid(tenant))
        assert set(tickets) == {str(i) for i in fake_site.issues}
        kinds = {"sub": 0, "unassigned": 0, "unicode": 0, "rich": 0, "done": 0}
        for issue in fake_site.issues.values():
            t = tickets[str(issue.id)]
            project = fake_site.projects[issue.project_id]
            status = STATUSES[issue.status_id]
            done = status.category.key == "done"
            parent = fake_site.issues[issue.parent_id] if issue.parent_id else None
            assert t.vendor_key == issue.key
            assert t.identifier == issue.key
            assert t.name == issue.summary
            assert t.description == (
                adf_to_markdown(issue.description) if issue.description else None
            )
            assert t.status == STATUS[status.name]
            priority = PRIORITIES_BY_ID[issue.priority_id] if issue.priority_id else None
            assert t.priority == (PRIORITY[priority.name] if priority else "UNKNOWN")
            assert t.type == issue.issuetype.name
            assert cat.issue_types[t.type_id].vendor_id == issue.issuetype_id
            assert cat.issue_types[t.type_id].project_id == t.project_id
            assert t.project_id and cat.projects[t.project_id].vendor_id == project.id
            assert t.project_vendor_id == project.key
            assert t.assigned_user_vendor_id == issue.assignee
            assert (
                cat.users[t.assigned_user_id].vendor_id if t.assigned_user_id else None
            ) == issue.assignee
            assert (
                cat.users[t.created_by_user_id].vendor_id if t.created_by_user_id else None
            ) == issue.reporter
            assert t.parent_ticket_vendor_id == (parent.key if parent else None)
            assert t.parent_ticket_id == (tickets[str(parent.id)].id if parent else None)
            assert t.url == f"https://acme.atlassian.net/browse/{issue.key}"
            assert t.tags == issue.labels
            assert t.due_date == (date.fromisoformat(issue.duedate) if issue.duedate else None)
            assert t.ticket_created_at == at(issue.created)
            assert t.status_updated_at == at(issue.statuscategorychangedate)
            assert t.closed_at == (at(issue.resolutiondate) if done else None)
            assert t.vendor_updated_at == at(issue.updated)
            assert t.active is True
            attrs = t.vendor_attributes
            assert attrs["status"] == status.name
            assert attrs["type_id"] == issue.issuetype_id
            assert attrs["data"] == {
                "vendor": "JIRA",
                "id": str(issue.id),
                "key": issue.key,
                "statusCategory": status.category.key,
                "customFields": {k: v for k, v in issue.custom.items() if v is not None},
            }
            kinds["sub"] += issue.issuetype.subtask
            kinds["unassigned"] += issue.assignee is None
            kinds["unicode"] += not issue.summary.isascii()
            kinds["rich"] += bool(issue.description)
            kinds["done"] += done
        # The seed exercised what the mapping must handle.
        assert all(count > 50 for count in kinds.values()), kinds

    async def test_catalog_matches_the_site(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=4, per_project=30, users=25)
        result = await run_sync(runtime, cid(tenant))

        cat = await catalog(runtime, cid(tenant))
        assert {
            p.key: (p.vendor_id, p.name, p.description, p.active) for p in cat.projects.values()
        } == {p.key: (p.id, p.name, p.description, True) for p in fake_site.projects.values()}
        assert result.projects == 4
        for p in cat.projects.values():
            types = {
                t.vendor_id: (t.name, t.subtask)
                for t in cat.issue_types.values()
                if t.project_id == p.id
            }
            assert types == {t.id: (t.name, t.subtask) for t in ISSUE_TYPES}
        referenced = {who for i in fake_site.issues.values() for who in (i.assignee, i.reporter)}
        expected = {u.account_id for u in fake_site.users.values() if u.active} | (
            referenced - {None}
        )
        assert {u.vendor_id for u in cat.users.values()} == expected
        for u in cat.users.values():
            jira = fake_site.users[u.vendor_id]
            assert (u.name, u.email, u.status, u.account_type) == (
                jira.display_name,
                jira.email,
                "ACTIVE" if jira.active else "INACTIVE",
                "atlassian",
            )
        assert any(u.status == "INACTIVE" for u in cat.users.values())
        async with runtime.session() as s:
            links = set(await s.execute(select(ProjectUser.project_id, ProjectUser.user_id)))
        assignable = {uid for uid, u in cat.users.items() if u.status == "ACTIVE"}
        assert links == {(p, u) for p in cat.projects for u in assignable}

    async def test_state_records_success_and_watermark(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=2, per_project=120)
        await run_sync(runtime, cid(tenant))

        state = await sync_state(runtime, cid(tenant))
        assert (state.status, state.phase, state.full_sync_done) == ("IDLE", None, True)
        assert state.lease_owner is None and state.last_error is None
        assert state.cursor == {"watermark_ms": max(i.updated for i in fake_site.issues.values())}
        assert state.counts["tickets"] == 240 and state.counts["pages"] == 3
        assert state.last_success_at == state.last_finished_at == state.last_reconciled_at

    async def test_project_filter_limits_the_sync(
        self, fake_site: Site, runtime: Runtime, client: httpx.AsyncClient
    ) -> None:
        from tests.fixtures.tenants import tenant_on

        seed(fake_site, projects=3, per_project=40)
        filtered = await tenant_on(
            client, runtime, "filtered", "acme.atlassian.net", project_keys_filter=["OPS", "NOPE"]
        )
        await run_sync(runtime, cid(filtered))

        tickets = await tickets_by_vendor_id(runtime, cid(filtered))
        ops = {str(i.id) for i in fake_site.issues.values() if i.key.startswith("OPS-")}
        assert set(tickets) == ops
        cat = await catalog(runtime, cid(filtered))
        assert [p.key for p in cat.projects.values()] == ["OPS"]
