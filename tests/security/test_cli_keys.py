"""``ticketbridge api-keys list|revoke|rotate`` and ``secret-key generate|rotate``, and the
start-up checks of ``serve`` (one error line, no traceback)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from ticketbridge.cli import app
from ticketbridge.config import Settings
from ticketbridge.crypto import generate_key, load_keys
from ticketbridge.provisioning import keys
from ticketbridge.provisioning.secret_rotation import key_file_lock
from ticketbridge.runtime import open_runtime

KEY = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name in [n for n in os.environ if n.startswith("TICKETBRIDGE_")]:
        monkeypatch.delenv(name)
    values = {
        "TICKETBRIDGE_DATABASE_URL": db_url,
        "TICKETBRIDGE_DATA_DIR": str(tmp_path / "data"),
        "TICKETBRIDGE_SECRET_KEY": KEY,
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    yield values


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def account_of(plain: str) -> str | None:
    async def lookup() -> str | None:
        async with open_runtime(Settings()) as rt, rt.session() as s:
            row = await keys.authenticate(s, plain)
            return None if row is None else str(row.account_id)

    return asyncio.run(lookup())


class TestApiKeysCommands:
    def test_list_revoke_rotate(self, env: dict[str, str]) -> None:
        first = run("api-keys", "create", "--name", "deploy", "--account", "acme").split()[-1]
        run("api-keys", "create", "--name", "other", "--account", "globex")
        table = run("api-keys", "list", "--account", "acme")
        assert "deploy" in table and "other" not in table and first[:9] in table
        assert first not in table
        everything = run("api-keys", "list")
        assert "acme" in everything and "globex" in everything
        (listed,) = json.loads(run("api-keys", "list", "--account", "acme", "--json"))
        assert listed["name"] == "deploy" and first.startswith(listed["prefix"])
        assert listed["revoked_at"] is None and first not in str(listed)
        key_id = listed["id"]

        out = run("api-keys", "rotate", key_id)
        second = out.split()[-1]
        assert second.startswith("tb_") and second != first
        assert account_of(first) is None and account_of(second) is not None

        old, new = json.loads(run("api-keys", "list", "--account", "acme", "--json"))
        assert old["id"] == key_id and old["revoked_at"] is not None
        assert new["name"] == "deploy" and new["revoked_at"] is None
        new_id = new["id"]
        out = run("api-keys", "revoke", new_id)  # the last key: an operator may
        assert "0 active key(s) left" in out
        assert account_of(second) is None

    def test_unknown_and_malformed_ids(self, env: dict[str, str]) -> None:
        out = run("api-keys", "revoke", "0190f0f0-0000-7000-8000-000000000000", code=1)
        assert "api key not found" in out
        assert "not a key id" in run("api-keys", "rotate", "nope", code=2)


class TestSecretKeyCommands:
    def test_generate_prints_a_fernet_key(self) -> None:
        Fernet(run("secret-key", "generate").strip())

    def test_rotate_in_file_mode(
        self, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("TICKETBRIDGE_SECRET_KEY")
        load_keys(Settings())  # the key file, as the first start makes it
        key_file = Path(env["TICKETBRIDGE_DATA_DIR"]) / "secret.key"
        before = key_file.read_text()
        out = run("secret-key", "rotate")
        assert "re-encrypted" in out and "old key was removed" in out
        assert key_file.read_text() != before and len(key_file.read_text().split()) == 1
        # A running server holds the key file: the rotation refuses to start.
        with key_file_lock(Settings(), exclusive=False):
            assert "stop it" in run("secret-key", "rotate", code=2)

    def test_rotate_with_environment_keys(
        self, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TICKETBRIDGE_SECRET_KEY", generate_key())
        monkeypatch.setenv("TICKETBRIDGE_OLD_SECRET_KEYS", KEY)
        out = run("secret-key", "rotate")
        assert "remove TICKETBRIDGE_OLD_SECRET_KEYS" in out


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBRIDGE_")}
    base.update(TICKETBRIDGE_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-m", "ticketbridge.cli", "serve", "--port", "1"],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.e2e  # each test starts `ticketbridge serve` in a subprocess
class TestServeStartupChecks:
    def test_malformed_key_is_one_line(self, tmp_path: Path) -> None:
        done = serve(tmp_path, TICKETBRIDGE_SECRET_KEY="definitely-not-fernet")
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [done.stderr.strip()]
        assert done.stderr.startswith("error: TICKETBRIDGE_SECRET_KEY is not a valid Fernet key")
        assert "Traceback" not in done.stderr + done.stdout
        assert "definitely-not-fernet" not in done.stderr

    def test_loose_key_file_is_refused(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        data.mkdir()
        (data / "secret.key").write_text(generate_key())
        (data / "secret.key").chmod(0o644)
        done = serve(tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert "secret.key is accessible by group or others (mode 0644)" in done.stderr
        assert not (data / "ticketbridge.db").exists()  # refused before anything else
