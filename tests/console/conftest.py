"""Browser fixtures: Debian's chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from tests.e2e.conftest import fake_jira_server, processes  # noqa: F401 (fixtures)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
SLOW = 120_000  # ms: the demo's first sync and the bulk job on a busy CI machine


@pytest.fixture
def page() -> Iterator[Page]:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        yield context.new_page()
        browser.close()


def console_errors(page: Page) -> list[str]:
    found: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # A service without /metrics answers 404 there; the dashboard says so instead.
        if msg.type == "error" and not msg.location.get("url", "").endswith("/metrics"):
            found.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: found.append(f"page error: {exc}"))
    return found
