"""The request edge: one error body, no secrets in logs, request ids, database outages."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, Header
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tests.fixtures.tenants import Tenant, make_key
from ticketbridge.api.deps import AccountDep
from ticketbridge.errors import Conflict, NotFound, Unprocessable, VendorRejected
from ticketbridge.logging import configure_logging, get_logger
from ticketbridge.runtime import Runtime
from ticketbridge.store.session import create_engine, create_sessionmaker
from ticketbridge.store.urls import async_url

ORGS = "/v1/provisioning/organizations"


def body_shape(r: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = r.json()
    assert set(body) == {"detail", "errors"}, body
    assert isinstance(body["detail"], str) and isinstance(body["errors"], list)
    return body


class TestOneErrorBody:
    async def test_validation_422_names_every_field_and_never_echoes_input(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        secret_ish = "tb_do-not-echo-" + "x" * 300
        r = await client.post(
            f"{ORGS}/{tenant.org_id}/connections",
            json={"vendor": "JIRA", "credentials": secret_ish, "timeout_secs": 10**20},
            headers=tenant.headers,
        )
        assert r.status_code == 422
        body = body_shape(r)
        assert body["detail"].startswith("body.credentials: ")
        assert "; body.timeout_secs: " in body["detail"]
        assert {tuple(e["loc"]) for e in body["errors"]} == {
            ("body", "timeout_secs"),
            ("body", "credentials"),
        }
        assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])
        assert "do-not-echo" not in r.text

    async def test_missing_body_field(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        r = await client.post(ORGS, json={}, headers=tenant.headers)
        assert r.status_code == 422
        assert body_shape(r)["detail"] == "body.name: Field required"

    async def test_404_409_401_are_a_sentence_with_errors(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        r = await client.get(f"{ORGS}/{tenant.org_id[:-4]}abcd", headers=tenant.headers)
        assert r.status_code == 404 and body_shape(r)["errors"] == []
        r = await client.get(ORGS)
        assert r.status_code == 401
        assert body_shape(r) == {"detail": "missing X-API-KEY header", "errors": []}
        r = await client.delete(ORGS)
        assert r.status_code == 405 and body_shape(r)["detail"] == "Method Not Allowed"

    async def test_huge_offset_is_422_naming_offset(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        for path in (ORGS, "/v1/itsm/tickets"):
            r = await client.get(
                path, params={"offset": "99999999999999999999"}, headers=tenant.headers
            )
            assert r.status_code == 422, (path, r.text)
            body = body_shape(r)
            assert body["errors"][0]["loc"] == ["query", "offset"]
            assert body["detail"].startswith("query.offset: ")
        r = await client.get(ORGS, params={"offset": 1_000_001}, headers=tenant.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "offset"]
        r = await client.get(ORGS, params={"offset": 1_000_000}, headers=tenant.headers)
        assert r.status_code == 200 and r.json()["items"] == []

    async def test_openapi_documents_the_error_body(self, client: httpx.AsyncClient) -> None:
        doc = (await client.get("/openapi.json")).json()
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        for code in ("404", "422"):
            response = doc["paths"]["/v1/itsm/tickets"]["post"]["responses"][code]
            assert response["content"]["application/json"]["schema"] == ref
        assert doc["components"]["schemas"]["ErrorBody"]["required"] == ["detail", "errors"]
        assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_error_tree_bodies() -> None:
    assert NotFound("ticket not found").body() == {"detail": "ticket not found", "errors": []}
    assert Unprocessable("must be a UUID", field="X-CONNECTION-ID", location="header").body() == {
        "detail": "header.X-CONNECTION-ID: must be a UUID",
        "errors": [
            {"loc": ["header", "X-CONNECTION-ID"], "msg": "must be a UUID", "type": "value_error"}
        ],
    }
    conflict = Conflict("transition needs fields", detail={"fields": ["resolution"]})
    assert conflict.body() == {
        "detail": "transition needs fields",
        "errors": [
            {"loc": [], "msg": "transition needs fields", "type": "error", "fields": ["resolution"]}
        ],
    }
    rejected = VendorRejected(
        "Jira rejected the request: summary: too long",
        vendor_status=400,
        errors={"summary": "too long"},
    ).body()
    assert rejected["detail"] == "Jira rejected the request: summary: too long"
    assert rejected["errors"][0]["vendor_errors"] == {"summary": "too long"}


async def _explode(
    account_id: AccountDep,
    x_api_key: Annotated[str, Header(alias="X-API-KEY")],
) -> None:
    # The key is a local of this frame: a traceback with locals would print it.
    raise RuntimeError("dependency blew up")


async def _boom_route(_: Annotated[None, Depends(_explode)]) -> dict[str, str]:
    return {}


def _add_failing_route(app: Any) -> None:
    app.add_api_route("/v1/test-only/boom", _boom_route, methods=["GET"])


class TestLogsAndSecrets:
    async def test_a_500_logs_one_event_with_the_request_id_and_never_the_key(
        self,
        app: Any,
        client: httpx.AsyncClient,
        runtime: Runtime,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        key = await make_key(runtime, "acme")
        _add_failing_route(app)
        caplog.set_level(logging.DEBUG)
        r = await client.get(
            "/v1/test-only/boom",
            headers={"X-API-KEY": key, "Authorization": "Bearer abc.def", "Cookie": "s=zz9"},
        )
        assert r.status_code == 500
        request_id = r.headers["X-Request-ID"]
        assert r.json() == {"detail": f"internal error (request id {request_id})", "errors": []}
        assert "RuntimeError" not in r.text and "blew up" not in r.text
        logged = caplog.text
        assert key not in logged and key[3:] not in logged
        assert "abc.def" not in logged and "zz9" not in logged
        events = [rec for rec in caplog.records if "unhandled_error" in rec.getMessage()]
        assert len(events) == 1
        assert request_id in events[0].getMessage()
        assert "RuntimeError" in events[0].getMessage()  # the traceback is there, for operators

    async def test_a_callers_request_id_is_kept_and_a_bad_one_replaced(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert r.headers["X-Request-ID"] == "abc-123"
        r = await client.get("/healthz", headers={"X-Request-ID": "no spaces\tor tabs"})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])


def _raise_with_key_in_locals(key: str) -> None:
    headers = {"x-api-key": key}
    raise ValueError(f"failed with {len(headers)} headers")


@pytest.mark.parametrize("json_logs", [False, True])
def test_tracebacks_have_no_locals_and_events_are_redacted(
    json_logs: bool, caplog: pytest.LogCaptureFixture
) -> None:
    key = "tb_" + "Z" * 43
    configure_logging("DEBUG", json_logs)
    caplog.set_level(logging.DEBUG)
    log = get_logger("test")
    try:
        _raise_with_key_in_locals(key)
    except ValueError as exc:
        log.error("boom", exc_info=exc)
    log.info(
        "call",
        headers={"X-API-KEY": key, "Accept": "application/json", "cookie": "sid=123456"},
        api_token="jira-token-1",
        password="hunter2",
        note=f"sent Authorization: Basic dXNlcjpwYXNz with {key}",
    )
    logging.getLogger("uvicorn.error").error("raw %s", f"x-api-key={key}")
    text = caplog.text
    assert "ValueError" in text and "_raise_with_key_in_locals" in text
    for secret in (key, "sid=123456", "jira-token-1", "hunter2", "dXNlcjpwYXNz"):
        assert secret not in text, secret
    assert "application/json" in text  # harmless headers stay readable


def _refusing_engine() -> AsyncEngine:
    return create_engine("postgresql://postgres@127.0.0.1:1/nothing_listens_here")


def _unopenable_sqlite(tmp_path: Path) -> AsyncEngine:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    return create_engine(f"sqlite:///{folder}")  # a directory is not a database file


class TestDatabaseUnavailable:
    @pytest.fixture
    async def broken_db(
        self, runtime: Runtime, tmp_path: Path, db_url: str
    ) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
        saved = (runtime.engine, runtime.sessionmaker)
        engines: list[AsyncEngine] = []
        held: list[AsyncConnection] = []

        async def swap(kind: str) -> None:
            if kind == "refused":
                engine = _refusing_engine()
            elif kind == "pool_exhausted":
                engine = create_async_engine(
                    async_url(db_url), pool_size=1, max_overflow=0, pool_timeout=0.05
                )
                held.append(await engine.connect())  # the only connection, never returned
            else:
                engine = _unopenable_sqlite(tmp_path)
            engines.append(engine)
            runtime.engine, runtime.sessionmaker = engine, create_sessionmaker(engine)

        yield swap
        runtime.engine, runtime.sessionmaker = saved
        for conn in held:
            await conn.close()
        for engine in engines:
            await engine.dispose()

    @pytest.mark.parametrize("kind", ["refused", "pool_exhausted", "sqlite_operational_error"])
    async def test_503_with_retry_after_and_readyz_is_truthful(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        broken_db: Callable[[str], Awaitable[None]],
        kind: str,
    ) -> None:
        await broken_db(kind)
        r = await client.get(ORGS, headers=tenant.headers)
        assert r.status_code == 503, r.text
        # A busy pool clears within seconds; an unreachable database takes longer.
        if kind == "pool_exhausted":
            assert r.headers["Retry-After"] == "2"
            assert body_shape(r)["detail"] == "the database is busy; retry shortly"
        else:
            assert r.headers["Retry-After"] == "5"
            assert body_shape(r)["detail"] == "the database is unavailable; retry later"
        r = await client.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        assert isinstance(r.json()["detail"], str) and r.json()["errors"] == []
