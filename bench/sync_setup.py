"""Shared set-up of the sync benchmarks (not a benchmark itself): fresh databases, settings,
and a Jira connection to an emulator."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from ticketbridge.config import Settings
from ticketbridge.provisioning.schemas import ConnectionCreate, OrganizationCreate
from ticketbridge.provisioning.service import (
    create_api_key,
    create_connection,
    create_organization,
)
from ticketbridge.runtime import Runtime
from ticketbridge.store.migrate import upgrade

SECRET = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="
SEED_NOW_MS = 1_750_000_000_000
PG_URL = os.environ.get(
    "TICKETBRIDGE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


class Database:
    """A fresh, migrated database for one run (SQLite file, or a PostgreSQL database that is
    dropped afterwards)."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.tmp = Path(tempfile.mkdtemp(prefix="tb-bench-"))
        self.pg_name = f"tb_bench_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        if self.backend == "sqlite":
            url = f"sqlite:///{self.tmp / 'bench.db'}"
        else:
            with psycopg.connect(make_url(PG_URL).render_as_string(False), autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{self.pg_name}"')
            url = make_url(PG_URL).set(database=self.pg_name).render_as_string(False)
        upgrade(url)
        return url

    def __exit__(self, *exc: object) -> None:
        if self.backend == "postgres":
            with psycopg.connect(make_url(PG_URL).render_as_string(False), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def settings_for(url: str, **extra: object) -> Settings:
    return Settings(
        database_url=url,
        data_dir=Path(tempfile.mkdtemp(prefix="tb-bench-data-")),
        secret_key=SECRET,
        scheduler_enabled=False,
        allow_private_vendor_urls=True,  # fakejira in-process or on loopback
        log_level="WARNING",
        **extra,  # type: ignore[arg-type]
    )


async def jira_connection(runtime: Runtime, base_url: str, name: str = "bench") -> uuid.UUID:
    async with runtime.session() as s:
        key, _ = await create_api_key(s, name=name, account_name=name)
        org = await create_organization(s, key.account_id, OrganizationCreate(name=name))
        body = ConnectionCreate(
            vendor="JIRA",
            credentials={
                "base_url": base_url,
                "email": "admin@example.com",
                "api_token": "fake-token",
            },
        )
        conn = await create_connection(
            s,
            runtime.box,
            key.account_id,
            org.id,
            body,
            default_refresh_interval=900,
            url_policy=runtime.url_policy,
        )
    return conn.id


def asgi(app: object) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)  # type: ignore[arg-type]
