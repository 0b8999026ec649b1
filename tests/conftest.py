"""The suite's shared fixtures live in :mod:`tests.fixtures` (one module per concern, loaded
here as plugins); folder conftests add only what their folder alone needs.

Markers (applied here, so selections never depend on remembering a decorator):
``postgres`` on the PostgreSQL half of every ``db_url`` test, ``e2e`` on tests that start
processes, ``slow`` on the few tests that take seconds of CPU. ``make test-fast`` deselects
all three.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.emulator",
    "tests.fixtures.service",
    "tests.fixtures.servicenow",
    "tests.fixtures.tenants",
]

_E2E_DIRS = ("e2e", "cli", "compat", "console")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        folder = Path(item.path).relative_to(tests_dir).parts[0]
        if folder in _E2E_DIRS or "processes" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("e2e") is not None:
            # Process-starting tests share ports and CPU: one xdist worker runs them in turn.
            item.add_marker(pytest.mark.xdist_group("e2e"))
