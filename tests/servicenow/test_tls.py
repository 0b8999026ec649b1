"""The connector over a real socket to the emulator's HTTPS (``--tls``): trusted through
``TICKETBRIDGE_VENDOR_CA_BUNDLE``, never by turning verification off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.service import SECRET_KEY
from tests.fixtures.tenants import Tenant
from tests.servicenow.conftest import make_snow_tenant, snow_credentials
from ticketbridge.app import create_app
from ticketbridge.config import Settings
from ticketbridge.fakeservicenow.server import BackgroundServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def https_instance() -> Iterator[BackgroundServer]:
    with BackgroundServer(tls=True) as server:
        yield server


async def service(db_url: str, tmp_path: Path, ca: Path | None) -> Any:
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        secret_key=SECRET_KEY,
        scheduler_enabled=False,
        allow_private_vendor_urls=True,  # a loopback instance
        vendor_ca_bundle=ca,
    )
    return create_app(settings)  # the real vendor transport: sockets and TLS


@pytest.fixture
async def served(
    db_url: str, tmp_path: Path, https_instance: BackgroundServer, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    trusted = request.param
    app = await service(db_url, tmp_path, https_instance.ca_path if trusted else None)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tb.test") as client:
            yield client, app.state.services.runtime


async def tenant_on(client: httpx.AsyncClient, runtime: Any, url: str) -> Tenant:
    return await make_snow_tenant(
        client, runtime, "acme", credentials=snow_credentials(instance=url)
    )


@pytest.mark.parametrize("served", [True], indirect=True)
async def test_the_ca_bundle_makes_the_instance_trusted(
    served: tuple[httpx.AsyncClient, Any], https_instance: BackgroundServer
) -> None:
    client, runtime = served
    tenant = await tenant_on(client, runtime, https_instance.base_url)
    r = await client.post(
        f"/v1/provisioning/connections/{tenant.connection_id}/test", headers=tenant.headers
    )
    assert r.json()["health"] == "HEALTHY", r.text
    r = await client.post("/v1/itsm/tickets", json={"name": "Over TLS"}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    record = https_instance.state.default.get("incident", r.json()["vendor_attributes"]["id"])
    assert record is not None and record["short_description"] == "Over TLS"


@pytest.mark.parametrize("served", [False], indirect=True)
async def test_without_it_the_certificate_is_refused(
    served: tuple[httpx.AsyncClient, Any], https_instance: BackgroundServer
) -> None:
    client, runtime = served
    tenant = await tenant_on(client, runtime, https_instance.base_url)
    r = await client.post(
        f"/v1/provisioning/connections/{tenant.connection_id}/test", headers=tenant.headers
    )
    body = r.json()
    assert body["health"] == "UNHEALTHY"
    assert "could not be reached" in body["detail"]
