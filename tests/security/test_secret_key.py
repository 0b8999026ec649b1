"""The secret key: rotation (file and environment), crash safety, wrong and bad keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from tests.fixtures.tenants import Tenant
from ticketbridge.config import Settings
from ticketbridge.crypto import KeyRing, SecretBox, SecretKeyError, generate_key, load_keys
from ticketbridge.provisioning.secret_rotation import (
    RotationReport,
    count_unreadable,
    rotate_secret_key,
)
from ticketbridge.runtime import Runtime, open_runtime
from ticketbridge.store.models import Account, Connection, Organization

CREDS = [{"base_url": f"https://s{i}.atlassian.net", "api_token": f"tok-{i}"} for i in range(5)]


def file_settings(db_url: str, tmp_path: Path, **over: Any) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "data", **over)


async def seed(settings: Settings, box: SecretBox | None = None, account: str = "acme") -> None:
    """Five connections whose credentials the runtime's (or ``box``'s) key encrypted."""
    async with open_runtime(settings) as rt, rt.session() as s:
        enc = box or rt.box
        acct = Account(name=account)
        s.add(acct)
        await s.flush()
        org = Organization(account_id=acct.id, name="o")
        s.add(org)
        await s.flush()
        for c in CREDS:
            s.add(
                Connection(
                    account_id=acct.id,
                    organization_id=org.id,
                    vendor="JIRA",
                    credentials_encrypted=enc.encrypt_json(c),
                )
            )


async def tokens(settings: Settings) -> list[str]:
    async with open_runtime(settings) as rt, rt.session() as s:
        return list(
            await s.scalars(select(Connection.credentials_encrypted).order_by(Connection.id))
        )


def plain(key: str, token: str) -> Any:
    return json.loads(Fernet(key).decrypt(token.encode()))


def by_token(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda c: str(c["api_token"]))


def key_file(settings: Settings) -> list[str]:
    return (settings.data_dir / "secret.key").read_text().split()


class TestRotation:
    async def test_key_file_rotation_reencrypts_everything(
        self, db_url: str, tmp_path: Path
    ) -> None:
        settings = file_settings(db_url, tmp_path)
        await seed(settings)
        (old,) = key_file(settings)
        report = await rotate_secret_key(settings)
        assert report.generated and report.verified and report.rotated == report.checked == 5
        (new,) = key_file(settings)
        assert new != old
        stored = await tokens(settings)
        assert by_token([plain(new, t) for t in stored]) == CREDS
        for token in stored:
            with pytest.raises(InvalidToken):
                Fernet(old).decrypt(token.encode())
        assert (settings.data_dir / "secret.key").stat().st_mode & 0o777 == 0o600

    async def test_crash_midway_loses_nothing_and_rerun_finishes(
        self, db_url: str, tmp_path: Path
    ) -> None:
        settings = file_settings(db_url, tmp_path)
        await seed(settings)
        (old,) = key_file(settings)

        async def crash(report: RotationReport) -> None:
            if report.rotated >= 2:
                raise RuntimeError("killed")

        with pytest.raises(RuntimeError):
            await rotate_secret_key(settings, batch_size=1, after_batch=crash)
        new, kept = key_file(settings)
        assert kept == old
        stored = await tokens(settings)
        ring = SecretBox(KeyRing(new, (old,)))
        assert by_token([ring.decrypt_json(t) for t in stored]) == CREDS  # all still readable
        assert sum(ring.is_current(t) for t in stored) == 2  # half-way
        # A restart in between reads all rows with the file's keys.
        async with open_runtime(settings) as rt:
            assert rt.box.ring.all == (new, old)
        report = await rotate_secret_key(settings)
        assert not report.generated and report.rotated == 3
        assert key_file(settings) == [new]
        assert by_token([plain(new, t) for t in await tokens(settings)]) == CREDS

    async def test_environment_rotation_with_old_keys(self, db_url: str, tmp_path: Path) -> None:
        old, new = generate_key(), generate_key()
        await seed(file_settings(db_url, tmp_path, secret_key=old))
        settings = file_settings(db_url, tmp_path, secret_key=new, old_secret_keys=old)
        report = await rotate_secret_key(settings)
        assert report.verified and report.rotated == 5 and not report.generated
        for token in await tokens(settings):
            Fernet(new).decrypt(token.encode())
            with pytest.raises(InvalidToken):
                Fernet(old).decrypt(token.encode())
        assert not (settings.data_dir / "secret.key").exists()

    async def test_unreadable_row_keeps_old_keys(self, db_url: str, tmp_path: Path) -> None:
        settings = file_settings(db_url, tmp_path)
        await seed(settings)
        (old,) = key_file(settings)
        await seed(settings, SecretBox(generate_key()), account="lost")  # key nobody has
        report = await rotate_secret_key(settings)
        assert len(report.unreadable) == 5 and report.rotated == 5
        new, kept = key_file(settings)  # the old key is not dropped
        assert kept == old
        assert sum(SecretBox(new).is_current(t) for t in await tokens(settings)) == 5


class TestWrongKey:
    async def test_wrong_key_is_503_naming_the_setting(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
    ) -> None:
        original = runtime.box
        runtime.box = SecretBox(generate_key())  # as after a restart with another key
        r = await client.get("/v1/itsm/passthrough/projects", headers=tenant.headers)
        assert r.status_code == 503, r.text
        assert "TICKETBRIDGE_SECRET_KEY" in r.json()["detail"]
        assert "TICKETBRIDGE_OLD_SECRET_KEYS" in r.json()["detail"]
        conn_url = f"/v1/provisioning/connections/{tenant.connection_id}"
        check = await client.post(f"{conn_url}/test", headers=tenant.headers)
        assert check.status_code == 200 and check.json()["health"] == "UNHEALTHY"
        assert "TICKETBRIDGE_SECRET_KEY" in check.json()["detail"]
        conn = (await client.get(conn_url, headers=tenant.headers)).json()
        assert conn["health"] == "UNHEALTHY" and "TICKETBRIDGE_SECRET_KEY" in conn["health_detail"]
        # The old key listed as an old key reads the credentials again.
        runtime.box = SecretBox(KeyRing(generate_key(), (original.ring.primary,)))
        r = await client.get("/v1/itsm/passthrough/projects", headers=tenant.headers)
        assert r.status_code == 200, r.text

    async def test_start_up_counts_unreadable_credentials(
        self, db_url: str, tmp_path: Path
    ) -> None:
        old = generate_key()
        await seed(file_settings(db_url, tmp_path, secret_key=old))
        new = generate_key()
        assert await count_unreadable(file_settings(db_url, tmp_path, secret_key=new)) == 5
        with_old = file_settings(db_url, tmp_path, secret_key=new, old_secret_keys=old)
        assert await count_unreadable(with_old) == 0


class TestBadConfiguration:
    @pytest.mark.parametrize(
        ("over", "named"),
        [
            ({"secret_key": "not-a-key"}, "TICKETBRIDGE_SECRET_KEY"),
            ({"secret_key": Fernet.generate_key().decode()[:-4]}, "TICKETBRIDGE_SECRET_KEY"),
            (
                {"secret_key": Fernet.generate_key().decode(), "old_secret_keys": "x,y"},
                "TICKETBRIDGE_OLD_SECRET_KEYS",
            ),
            ({"mode": "distributed"}, "TICKETBRIDGE_SECRET_KEY must be set"),
        ],
    )
    def test_bad_key_is_one_clear_error(
        self, tmp_path: Path, over: dict[str, Any], named: str
    ) -> None:
        with pytest.raises(SecretKeyError) as exc:
            load_keys(Settings(data_dir=tmp_path, **over))
        assert named in str(exc.value) and "\n" not in str(exc.value)
        assert "not-a-key" not in str(exc.value)

    def test_malformed_key_file_names_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "secret.key"
        path.write_text("garbage\n")
        path.chmod(0o600)
        with pytest.raises(SecretKeyError, match="secret.key"):
            load_keys(Settings(data_dir=tmp_path))

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
    def test_loose_key_file_is_refused(self, tmp_path: Path, mode: int) -> None:
        path = tmp_path / "secret.key"
        path.write_text(generate_key() + "\n")
        path.chmod(mode)
        with pytest.raises(SecretKeyError, match="chmod 600"):
            load_keys(Settings(data_dir=tmp_path))
        path.chmod(0o600)
        assert load_keys(Settings(data_dir=tmp_path)).primary == path.read_text().strip()
