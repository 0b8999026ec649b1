"""The console in headless Chromium against a real ``serve`` on loopback, from an empty data
directory: setup link → first key → demo connection → sync → create through the dropdowns →
status change → bulk job → sign out. Screenshots go to docs/console/ (docs/console.md).

Chromium is Debian's package (``make test`` installs it); Playwright only drives it and never
downloads a browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import SHOTS, SLOW, console_errors
from tests.e2e.procs import Processes, clean_env, free_port, wait_http, wait_until

pytestmark = pytest.mark.e2e

LINK = re.compile(r"First run: open (http://\S+/console/#setup=([A-Za-z0-9_-]+)) ")


def test_first_five_minutes(page: Page, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(tmp_path, allow_private_vendor_urls="false", scheduler_enabled="true")
    with Processes(tmp_path) as procs:
        serve = procs.start("serve", ["serve", "--port", str(port)], env)
        wait_http(f"http://127.0.0.1:{port}/healthz", procs.logs)
        wait_until(lambda: LINK.search(serve.log.read_text()) is not None, "link", 10, procs.logs)
        match = LINK.search(serve.log.read_text())
        assert match is not None
        link, token = match.groups()
        errors = console_errors(page)
        urls: list[str] = []
        page.on("request", lambda r: urls.append(r.url))

        # First run: the link creates the first key; the token leaves the address bar at once.
        page.goto(link)
        page.click("#create-key")
        key = page.locator("#new-key").inner_text()
        assert key and token not in page.url
        page.screenshot(path=str(SHOTS / "first-run.png"), mask=[page.locator("#new-key")])
        page.click("#continue")

        # The built-in emulator: a demo connection, synced at once.
        page.click("#try-demo")
        expect(page.locator(".sync-status").first).to_contain_text("IDLE", timeout=SLOW)
        page.screenshot(path=str(SHOTS / "connections.png"), full_page=True)

        page.goto(f"http://127.0.0.1:{port}/console/#/dashboard")
        expect(page.locator("#sync-lag")).to_contain_text("ago", timeout=SLOW)
        expect(page.locator('[data-status="OPEN"]')).to_have_text(re.compile(r"^[1-9]\d*$"))
        page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

        # Create through the dropdowns (project → issue type → assignee, from passthrough).
        page.click('#nav a[href="#/create"]')
        page.select_option("#project", index=1)
        expect(page.locator("#issue-type")).to_be_enabled()
        page.select_option("#issue-type", label="Task")
        # People by name, as Jira shows them (not bare account ids).
        expect(page.locator("#assignee option").nth(1)).not_to_have_text(re.compile(r"^[0-9a-f]+$"))
        page.select_option("#assignee", index=1)
        page.fill("#name", "Printer on fire (console test)")
        page.fill("#description", "Smoke seen near the 3rd floor printer.")
        page.click("#create-submit")
        created = page.locator("#created-key")
        expect(created).to_have_text(re.compile(r"^[A-Z]+-\d+$"), timeout=SLOW)
        issue_key = created.inner_text()
        page.screenshot(path=str(SHOTS / "create.png"), full_page=True)

        # It is in the synced list; change its status to RESOLVED from the detail.
        page.click('#nav a[href="#/tickets"]')
        page.fill("#filter-name", "Printer on fire")
        page.press("#filter-name", "Enter")
        row = page.locator("#ticket-list tbody tr", has_text=issue_key)
        expect(row).to_have_count(1)
        row.locator("td").nth(2).click()
        page.select_option("#new-status", "RESOLVED")
        page.click("#change-status")
        expect(page.locator("#detail-status")).to_have_text("RESOLVED", timeout=SLOW)
        page.screenshot(path=str(SHOTS / "tickets.png"), full_page=True)

        # And in the emulator itself: JQL over passthrough reads Jira, not the store.
        page.click("#ticket-detail .jira-link")
        expect(page.locator(".search-status")).to_have_count(1, timeout=SLOW)
        expect(page.locator("#search-results")).to_contain_text(issue_key)
        expect(page.locator("#search-results")).to_contain_text("Printer on fire")
        page.fill("#jql", "project is not EMPTY ORDER BY key ASC")
        page.click("#search-run")
        expect(page.locator("#search-next")).to_be_enabled(timeout=SLOW)
        page.click("#search-next")
        expect(page.locator("#search-prev")).to_be_enabled(timeout=SLOW)
        page.screenshot(path=str(SHOTS / "search.png"), full_page=True)

        # A bulk job on three open tickets, watched until SUCCESS.
        page.click('#nav a[href="#/tickets"]')
        page.select_option("#filter-status", "OPEN")
        page.press("#filter-name", "Enter")
        boxes = page.locator("#ticket-list tbody input[type=checkbox]")
        expect(boxes.first).to_be_visible()
        for i in range(3):
            boxes.nth(i).check()
        page.select_option("#bulk-status", "IN_PROGRESS")
        page.click("#bulk-update")
        expect(page.locator("#job-status")).to_have_text("SUCCESS", timeout=SLOW)
        page.screenshot(path=str(SHOTS / "jobs.png"), full_page=True)

        page.click("#signout")
        expect(page.locator("#signin")).to_be_visible()
        assert page.evaluate("sessionStorage.length") == 0

        assert errors == []
        assert not [u for u in urls if key in u or token in u]
        # The token is printed once and appears nowhere else in the service's output.
        assert serve.log.read_text().count(token) == 1
        assert key not in serve.log.read_text()
