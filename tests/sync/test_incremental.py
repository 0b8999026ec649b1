"""Incremental sync: after a full sync, only what changed in Jira is read and written;
deletions are found by the periodic id reconciliation."""

from __future__ import annotations

from sqlalchemy import update

from tests.fixtures.emulator import search_calls, seed
from tests.fixtures.store import sync_state, tickets_by_vendor_id
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.fakejira import Site
from ticketbridge.fakejira.model import Issue
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Ticket
from ticketbridge.sync.service import SyncConfig, run_sync

RECONCILE_NOW = SyncConfig(reconcile_every_runs=1)


def leaves(fake_site: Site) -> list[Issue]:
    """Issues nothing points at (deleting them removes nothing else)."""
    parents = {i.parent_id for i in fake_site.issues.values()}
    return [i for i in fake_site.issues.values() if i.id not in parents and i.parent_id is None]


def create(fake_site: Site, project: str, summary: str) -> Issue:
    admin = fake_site.user_by_email("admin@example.com")
    body = {
        "fields": {
            "project": {"key": project},
            "issuetype": {"id": "10001"},
            "summary": summary,
            "labels": ["fresh"],
        }
    }
    return fake_site.create_issue(body, actor=admin)


class TestIncrementalSync:
    async def test_only_changed_issues_are_read_and_written(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=3, per_project=200)
        full = await run_sync(runtime, cid(tenant))
        before = await tickets_by_vendor_id(runtime, cid(tenant))
        pool = leaves(fake_site)
        edited, moved, deleted = pool[:3], pool[3], pool[4:6]
        for issue in edited:
            fake_site.edit_issue(issue, {"fields": {"summary": f"Édité {issue.key} ✓"}})
        if moved.status.category.key == "done":
            fake_site.transition_issue(moved, "11")
        fake_site.transition_issue(moved, "31")
        created = [
            create(fake_site, "OPS", "Nouveau ticket 🚀"),
            create(fake_site, "WEB", "second"),
        ]
        for issue in deleted:
            fake_site.delete_issue(issue)
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant))

        assert (result.mode, result.reconciled) == ("incremental", False)
        assert full.pages == 6 and search_calls(fake_site) == 1  # one page, not six
        assert result.changed == len(edited) + 1 + len(created)
        after = await tickets_by_vendor_id(runtime, cid(tenant))
        changed_ids = {str(i.id) for i in [*edited, moved]}
        for vid, old in before.items():
            new = after[vid]
            if vid in changed_ids:
                assert new.updated_at > old.updated_at
            else:  # untouched rows are not rewritten (deleted ones included, until reconciled)
                assert (new.updated_at, new.name, new.active) == (
                    old.updated_at,
                    old.name,
                    old.active,
                )
        for issue in edited:
            assert after[str(issue.id)].name == f"Édité {issue.key} ✓"
        assert after[str(moved.id)].status == "CLOSED"
        assert after[str(moved.id)].closed_at is not None
        for issue in created:
            t = after[str(issue.id)]
            assert (t.identifier, t.name, t.tags, t.active) == (
                issue.key,
                issue.summary,
                ["fresh"],
                True,
            )
        assert set(after) == set(before) | {str(i.id) for i in created}

    async def test_reconciliation_marks_deleted_issues_inactive(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=2, per_project=150)
        await run_sync(runtime, cid(tenant))
        deleted = leaves(fake_site)[:4]
        for issue in deleted:
            fake_site.delete_issue(issue)
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant), config=RECONCILE_NOW)

        assert (result.reconciled, result.deactivated, result.reactivated) == (True, 4, 0)
        # One incremental page and one id page (5000 ids per page).
        assert search_calls(fake_site) == 2
        after = await tickets_by_vendor_id(runtime, cid(tenant))
        gone = {str(i.id) for i in deleted}
        assert {vid for vid, t in after.items() if not t.active} == gone
        state = await sync_state(runtime, cid(tenant))
        assert state.counts["runs_since_reconcile"] == 0
        assert state.last_reconciled_at == state.last_success_at

    async def test_reconciliation_is_periodic(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=1, per_project=20)
        await run_sync(runtime, cid(tenant))  # full: reconciles
        every_third = SyncConfig(reconcile_every_runs=3)
        runs = [await run_sync(runtime, cid(tenant), config=every_third) for _ in range(5)]

        assert [r.reconciled for r in runs] == [False, False, True, False, False]

    async def test_reconciliation_reactivates_a_ticket_still_in_jira(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=1, per_project=30)
        await run_sync(runtime, cid(tenant))
        victim = next(iter(fake_site.issues.values()))
        async with runtime.session() as s:
            await s.execute(
                update(Ticket).where(Ticket.vendor_id == str(victim.id)).values(active=False)
            )

        result = await run_sync(runtime, cid(tenant), config=RECONCILE_NOW)

        assert (result.deactivated, result.reactivated) == (0, 1)
        assert (await tickets_by_vendor_id(runtime, cid(tenant)))[str(victim.id)].active

    async def test_full_resync_reads_everything_and_changes_nothing(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        seed(fake_site, projects=2, per_project=150)
        await run_sync(runtime, cid(tenant))
        before = await tickets_by_vendor_id(runtime, cid(tenant))
        fake_site.stats.reset()

        result = await run_sync(runtime, cid(tenant), full=True)

        assert (result.mode, result.tickets, result.changed) == ("full", 300, 0)
        assert search_calls(fake_site) == 3 + 1  # three pages and the id listing
        after = await tickets_by_vendor_id(runtime, cid(tenant))
        assert {k: t.updated_at for k, t in after.items()} == {
            k: t.updated_at for k, t in before.items()
        }

    async def test_children_read_before_their_parent_are_linked(
        self, fake_site: Site, runtime: Runtime, tenant: Tenant
    ) -> None:
        fake_site.reset()
        parent = create(fake_site, "DEMO", "parent")
        admin = fake_site.user_by_email("admin@example.com")
        child = fake_site.create_issue(
            {
                "fields": {
                    "project": {"key": "DEMO"},
                    "issuetype": {"id": "10002"},
                    "summary": "child",
                    "parent": {"key": parent.key},
                }
            },
            actor=admin,
        )
        fake_site.edit_issue(parent, {"fields": {"summary": "parent, edited later"}})
        parent.updated = child.updated + 1000  # the parent now sorts after its child
        fake_site.refresh(parent)

        result = await run_sync(runtime, cid(tenant), config=SyncConfig(page_size=1))

        assert result.pages == 2
        tickets = await tickets_by_vendor_id(runtime, cid(tenant))
        assert tickets[str(child.id)].parent_ticket_id == tickets[str(parent.id)].id
        assert tickets[str(child.id)].parent_ticket_vendor_id == parent.key
