"""The request edge: body size cap, per-key rate limits, CORS settings and preflight."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.fixtures.tenants import make_key
from ticketbridge.api.ratelimit import TokenBuckets
from ticketbridge.app import create_app
from ticketbridge.config import Settings
from ticketbridge.provisioning.keys import hash_key

ORGS = "/v1/provisioning/organizations"
AppClient = Callable[..., Any]


@pytest.fixture
def edge_client(migrated_sqlite_url: str, tmp_path: Path) -> Callable[..., Any]:
    """An app on the (session-wide) SQLite database with some settings changed: the edge
    does not depend on the backend, so these tests run once."""

    @asynccontextmanager
    async def open_client(**over: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
        settings = Settings(
            database_url=migrated_sqlite_url,
            data_dir=tmp_path / "data",
            secret_key="Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc=",
            scheduler_enabled=False,
            **over,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tb.test") as c:
                yield app, c

    return open_client


def _error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"detail", "errors"} and isinstance(body["detail"], str)
    return body


class TestBodyLimit:
    async def test_declared_length_over_the_cap_is_413(self, edge_client: AppClient) -> None:
        async with edge_client(max_request_body_bytes=4096) as (_, client):
            r = await client.post(ORGS, json={"name": "x" * 5000})
            body = _error(r, 413)
            assert body["detail"] == "request body is larger than 4096 bytes"
            assert body["errors"][0]["loc"] == ["body"]
            r = await client.post(ORGS, json={"name": "x" * 3000})
            assert r.status_code == 401  # under the cap, the request goes on (to auth)

    async def test_chunked_body_is_cut_off_while_streaming(self, edge_client: AppClient) -> None:
        sent: list[int] = []

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "'
            for i in range(1000):  # 1 MB in all, no Content-Length
                sent.append(i)
                yield b"x" * 1024
            yield b'"}'

        async with edge_client(max_request_body_bytes=8192) as (_, client):
            r = await client.post(
                ORGS, content=chunks(), headers={"Content-Type": "application/json"}
            )
            assert "content-length" not in r.request.headers
            _error(r, 413)
            assert len(sent) < 20  # refused after the cap, not after reading everything

    async def test_over_a_real_socket_chunked(self, edge_client: AppClient) -> None:
        async with edge_client(max_request_body_bytes=65536) as (app, _):
            config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off")
            server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve())
            try:
                async with asyncio.timeout(30):  # a guard against a hang, not a measure
                    while not server.started:
                        await asyncio.sleep(0.01)
                port = server.servers[0].sockets[0].getsockname()[1]

                async def chunks() -> AsyncIterator[bytes]:
                    for _ in range(300):
                        yield b"x" * 1024

                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                    r = await client.post(
                        ORGS, content=chunks(), headers={"Content-Type": "application/json"}
                    )
                    assert r.request.headers["transfer-encoding"] == "chunked"
                    _error(r, 413)
                    assert (await client.get("/healthz")).status_code == 200
            finally:
                server.should_exit = True
                await serving


class TestRateLimit:
    async def test_a_key_past_its_burst_gets_429_and_other_keys_do_not(
        self, edge_client: AppClient
    ) -> None:
        async with edge_client(
            rate_limit_enabled=True, rate_limit_per_sec=0.01, rate_limit_burst=3
        ) as (app, client):
            key = await make_key(app.state.services.runtime, "acme")
            other = await make_key(app.state.services.runtime, "globex")
            for _ in range(3):
                assert (await client.get(ORGS, headers={"X-API-KEY": key})).status_code == 200
            r = await client.get(ORGS, headers={"X-API-KEY": key})
            body = _error(r, 429)
            assert int(r.headers["Retry-After"]) >= 1
            assert body["errors"][0]["loc"] == ["header", "X-API-KEY"]
            assert "X-Request-ID" in r.headers
            assert (await client.get(ORGS, headers={"X-API-KEY": other})).status_code == 200
            # Unknown keys are limited too, before any database lookup.
            statuses = [
                (await client.get(ORGS, headers={"X-API-KEY": "tb_guess"})).status_code
                for _ in range(4)
            ]
            assert statuses == [401, 401, 401, 429]
            stored = list(app.state.rate_buckets._buckets)
            assert hash_key(key) in stored and not any(key in k or other in k for k in stored)

    def test_bucket_refills_at_the_configured_rate(self) -> None:
        now = [100.0]
        buckets = TokenBuckets(2.0, 2, clock=lambda: now[0])
        assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.5]
        now[0] += 0.5
        assert buckets.take("k") == 0.0 and buckets.take("k") == 0.5

    def test_bucket_table_is_bounded(self) -> None:
        buckets = TokenBuckets(1.0, 1, clock=lambda: 0.0, max_buckets=10)
        for i in range(100):
            buckets.take(f"k{i}")
        assert len(buckets._buckets) == 10

    def test_default_is_off_embedded_and_on_distributed(self) -> None:
        assert not Settings(mode="embedded").rate_limit_active
        assert Settings(mode="distributed").rate_limit_active
        assert not Settings(mode="distributed", rate_limit_enabled=False).rate_limit_active

    async def test_off_by_default_in_embedded_mode(self, edge_client: AppClient) -> None:
        async with edge_client(rate_limit_burst=1) as (_, client):
            statuses = {
                (await client.get(ORGS, headers={"X-API-KEY": "tb_guess"})).status_code
                for _ in range(5)
            }
            assert statuses == {401}


class TestCors:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("*", ["*"]),
            ("https://a.example,https://b.example", ["https://a.example", "https://b.example"]),
            (" https://a.example , https://b.example ", ["https://a.example", "https://b.example"]),
            (
                '["https://a.example", "https://b.example"]',
                ["https://a.example", "https://b.example"],
            ),
            ("", []),
        ],
    )
    def test_env_forms(
        self, monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
    ) -> None:
        monkeypatch.setenv("TICKETBRIDGE_CORS_ORIGINS", raw)
        assert Settings().cors_origins == expected

    @pytest.mark.e2e  # runs `ticketbridge db upgrade` in a subprocess
    @pytest.mark.parametrize("raw", ["*", "https://a.example,https://b.example"])
    def test_a_command_starts_with_the_comma_and_star_forms(self, tmp_path: Path, raw: str) -> None:
        env = {
            **os.environ,
            "TICKETBRIDGE_CORS_ORIGINS": raw,
            "TICKETBRIDGE_DATA_DIR": str(tmp_path),
        }
        env.pop("TICKETBRIDGE_DATABASE_URL", None)
        done = subprocess.run(
            [sys.executable, "-m", "ticketbridge.cli", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "SettingsError" not in done.stderr

    async def test_browser_preflight_is_answered_for_an_allowed_origin(
        self, edge_client: AppClient
    ) -> None:
        async with edge_client(cors_origins="https://a.example,https://b.example") as (_, client):
            preflight = {
                "Origin": "https://b.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key,content-type",
            }
            r = await client.options(ORGS, headers=preflight)
            assert r.status_code == 200
            assert r.headers["access-control-allow-origin"] == "https://b.example"
            assert "POST" in r.headers["access-control-allow-methods"]
            r = await client.options(ORGS, headers={**preflight, "Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in r.headers
            # Error answers carry the CORS headers too, so the browser shows the body.
            r = await client.get(ORGS, headers={"Origin": "https://a.example"})
            assert r.status_code == 401
            assert r.headers["access-control-allow-origin"] == "https://a.example"
            assert "X-Request-ID" in r.headers["access-control-expose-headers"]
