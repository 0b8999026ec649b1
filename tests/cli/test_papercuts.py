"""Papercuts found by following the README literally: commands that created a new
empty database in the wrong directory, an unmigrated PostgreSQL's traceback, distributed mode
on SQLite, and log lines that were not one JSON stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.e2e.procs import Processes, clean_env, cli, free_port, wait_http
from tests.fixtures.database import PG_URL, _pg_reachable, scratch_database
from ticketbridge.cli import app

KEY = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="


@pytest.fixture
def bare_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TICKETBRIDGE_* settings; the current directory is an empty one."""
    for name in [n for n in os.environ if n.startswith("TICKETBRIDGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stderr


class TestNoDatabaseCreatedOutsideServe:
    @pytest.mark.parametrize(
        "args",
        [
            ("sync", "--connection", str(uuid.uuid4())),
            ("api-keys", "list"),
            ("api-keys", "create", "--name", "x"),
            ("jobs", "list"),
            ("connections", "list"),
            ("secret-key", "rotate"),
        ],
    )
    def test_says_where_it_looked_and_creates_nothing(
        self, bare_env: Path, args: tuple[str, ...]
    ) -> None:
        code, err = invoke(*args)
        assert code == 2, err
        (line,) = err.strip().splitlines()
        assert str(bare_env / "data" / "ticketbridge.db") in line
        assert "TICKETBRIDGE_DATA_DIR" in line
        assert list(bare_env.iterdir()) == []  # no data/, no database, no secret.key

    def test_an_existing_database_is_used(self, bare_env: Path) -> None:
        assert invoke("db", "upgrade")[0] == 0
        assert invoke("api-keys", "list")[0] == 0


class TestUnmigratedPostgres:
    @pytest.fixture
    def empty_pg(self, monkeypatch: pytest.MonkeyPatch, bare_env: Path) -> Iterator[str]:
        if _pg_reachable() is not None:
            pytest.skip("PostgreSQL unreachable")
        with scratch_database(PG_URL, f"tb_empty_{uuid.uuid4().hex[:8]}") as url:
            monkeypatch.setenv("TICKETBRIDGE_DATABASE_URL", url)
            yield url

    def test_api_keys_create_says_run_db_upgrade_first(self, empty_pg: str) -> None:
        code, err = invoke("api-keys", "create", "--name", "x")
        assert code == 2
        assert err.strip() == (
            "error: the database has no ticketbridge schema: run `ticketbridge db upgrade` first"
        )
        assert invoke("db", "upgrade")[0] == 0
        assert invoke("api-keys", "create", "--name", "x")[0] == 0


def test_distributed_mode_on_sqlite_fails_at_once(bare_env: Path) -> None:
    env = {**clean_env(bare_env), "TICKETBRIDGE_MODE": "distributed"}
    done = subprocess.run(cli("serve"), env=env, capture_output=True, timeout=60, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: TICKETBRIDGE_MODE=distributed needs PostgreSQL: set TICKETBRIDGE_DATABASE_URL="
        "postgresql://..., or use the default embedded mode with SQLite"
    ]


@pytest.mark.e2e
def test_json_logs_are_one_stream_without_library_noise(tmp_path: Path) -> None:
    env = clean_env(tmp_path, log_json="true", log_level="DEBUG", secret_key=KEY)
    port = free_port()
    with Processes(tmp_path) as procs:
        proc = procs.start("serve", ["serve", "--port", str(port)], env)
        wait_http(f"http://127.0.0.1:{port}/healthz", procs.logs)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        assert proc.popen is not None
        proc.popen.send_signal(signal.SIGTERM)
        proc.popen.wait(30)
    lines = [x for x in (tmp_path / "serve.log").read_text().splitlines() if x.strip()]
    events = [json.loads(x) for x in lines]  # every line is JSON
    loggers = {e.get("logger") for e in events}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers, loggers
    assert any("Application startup complete" in e["event"] for e in events)
    assert not [
        e for e in events if str(e.get("logger", "")).startswith(("aiosqlite", "sqlalchemy"))
    ]
