"""The suite's own rules: in CI an unreachable PostgreSQL fails the run instead of skipping
the PostgreSQL half with a banner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.database import in_ci

REPO = Path(__file__).resolve().parents[2]
TINY = """
def test_needs_postgres(pg_server_url):
    assert pg_server_url
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("false", False), ("0", False), ("FALSE", False), ("true", True),
     ("1", True), ("yes", True), ("github-actions", True), ("True", True)],
)  # fmt: skip
def test_any_ci_value_but_false_or_0_counts(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected


def run_tiny(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(TINY)
    env = {
        **os.environ,
        "CI": ci,
        "PYTHONPATH": str(REPO),
        # Port 1 on loopback: nothing listens, the connection is refused at once.
        "TICKETBRIDGE_TEST_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    args = ["-p", "tests.fixtures.database", "-p", "no:cacheprovider", "-p", "no:randomly"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-c", os.devnull, "--rootdir", str(tmp_path),
         str(tmp_path / "test_tiny.py")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip


@pytest.mark.e2e
@pytest.mark.parametrize("ci", ["1"])
def test_unreachable_postgres_fails_the_run_in_ci(tmp_path: Path, ci: str) -> None:
    done = run_tiny(tmp_path, ci)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "unreachable and CI is set" in done.stdout
    assert "1 error" in done.stdout


@pytest.mark.e2e
def test_outside_ci_the_postgres_half_is_skipped_with_a_banner(tmp_path: Path) -> None:
    done = run_tiny(tmp_path, "false")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "PostgreSQL TESTS WERE SKIPPED" in done.stdout
