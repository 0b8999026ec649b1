"""Shared set-up of the sync benchmarks (not a benchmark itself): fresh databases, settings,
and a Jira connection to an emulator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

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


class EmulatorProcess:
    """``ticketbridge fake-jira`` (or another emulator's ``command``, such as
    ``fake-servicenow``) as its own process on a loopback port, seeded with ``issues``
    records, every request delayed ``latency_ms``: the vendor as a user's sync sees it."""

    def __init__(self, issues: int, latency_ms: int = 0, command: str = "fake-jira") -> None:
        self.issues, self.latency_ms, self.command = issues, latency_ms, command
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmulatorProcess:
        exe = Path(sys.executable).with_name("ticketbridge")
        args = [str(exe), self.command, "--port", str(self.port), "--seed", str(self.issues)]
        args += ["--latency-ms", str(self.latency_ms)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.command} exited")
            try:
                httpx.get(f"{self.base_url}/_fake/stats", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.command} did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def cpu_seconds(self) -> float:
        """CPU time the emulator process has used so far (Linux ``/proc``)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    def stats(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.base_url}/_fake/stats", timeout=10).json()
        return body

    def reset_stats(self) -> None:
        httpx.post(f"{self.base_url}/_fake/stats/reset", timeout=10).raise_for_status()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def raw_paging(
    base_url: str, jql: str, fields: list[str], properties: list[str], *, pages: int | None = None
) -> tuple[int, int, list[float]]:
    """What a plain httpx client does: POST search/jql, parse, follow nextPageToken.
    Returns (issues, pages, seconds per page); stops after ``pages`` when given."""
    auth = ("admin@example.com", "fake-token")
    issues, times = 0, []
    async with httpx.AsyncClient(base_url=base_url, auth=auth, timeout=120) as client:
        token = None
        while pages is None or len(times) < pages:
            body: dict[str, Any] = {
                "jql": jql,
                "maxResults": 100,
                "fields": fields,
                "properties": properties,
            }
            if token:
                body["nextPageToken"] = token
            start = time.perf_counter()
            response = await client.post("/rest/api/3/search/jql", json=body)
            response.raise_for_status()
            data = response.json()
            times.append(time.perf_counter() - start)
            issues += len(data["issues"])
            token = data.get("nextPageToken")
            if not token:
                break
    return issues, len(times), times
