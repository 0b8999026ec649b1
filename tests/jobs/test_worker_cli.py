"""``ticketbridge worker``: refuses to start without PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ticketbridge.cli import app


class TestWorkerCommand:
    def test_sqlite_is_refused(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
        monkeypatch.setenv("TICKETBRIDGE_MODE", "distributed")

        result = CliRunner().invoke(app, ["worker", "--concurrency", "1"])

        assert result.exit_code == 2
        assert not (tmp_path / "x.db").exists()  # nothing was started or created
