"""The emulator kit on its own: a third, made-up vendor ("toy") built from nothing but
``ticketbridge.fakekit`` gets tenants by ``Host``, the ``/_fake`` admin API, every fault kind
and a real (TLS) socket, with only its own error body and 429 headers written here."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ticketbridge.fakekit import faults as kit
from ticketbridge.fakekit.admin import AdminAPI
from ticketbridge.fakekit.app import EmulatorApp, after_apply, tenant_of
from ticketbridge.fakekit.server import BackgroundServer
from ticketbridge.fakekit.tenants import Tenant, Tenants
from ticketbridge.fakekit.tls import generate


@dataclass
class ToyRefuse:
    share: float = 1.0
    status: int = 403
    message: str = "toys are off"
    routes: list[str] | None = None
    count: int | None = None


@dataclass
class ToyConfig(kit.FaultConfig):
    REFUSE_FAULT: ClassVar[type[ToyRefuse]] = ToyRefuse
    ROUTES_NOUN: ClassVar[str] = "toy routes"

    refuse: ToyRefuse | None = None


class ToyFaults(kit.Faults[ToyConfig]):
    config_class = ToyConfig

    def vendor_rate_limit_headers(self, retry_after: int, *, burst: bool) -> dict[str, str]:
        return {"Toy-Reason": "burst" if burst else "share"}


class Shop(Tenant):
    faults_class = ToyFaults
    stats_class = kit.ConcurrencyStats
    faults: ToyFaults
    stats: kit.ConcurrencyStats

    def _wipe(self) -> None:
        self.toys: list[str] = []

    def _populate(self, seed: Any) -> None:
        self.toys = [f"toy-{i}" for i in range(seed or 1)]


class Shops(Tenants[Shop]):
    tenant_class = Shop
    DOMAIN = ".toys.test"


def _seed_spec(data: Any) -> int:
    if not isinstance(data, int) or isinstance(data, bool):
        raise ValueError("a toy seed is a number")
    return data


def _summary(shop: Shop) -> dict[str, Any]:
    return {"shop": shop.name, "toys": len(shop.toys)}


ADMIN = AdminAPI(seed_spec=_seed_spec, summary=_summary)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"toy_error": message}, status_code=status, headers=headers)


async def toys(request: Request) -> Response:
    shop: Shop = tenant_of(request)
    key = kit.RouteKey(request.method, "/toys")
    shop.stats.started()
    try:
        fired = shop.faults.before(key)
        if fired is not None:
            response = _error(fired.status, fired.kind, fired.headers or None)
        else:
            if request.method == "POST":
                shop.toys.append("new")
            response = JSONResponse(shop.toys, status_code=201 if request.method == "POST" else 200)
            fault = after_apply(shop.faults, key, request.scope)
            if fault is not None:
                response = _error(fault.status, "applied, then failed")
    finally:
        shop.stats.finished()
    shop.stats.record(key.stat, response.status_code)
    return response


def create_toy_app(shops: Shops | None = None) -> EmulatorApp:
    return EmulatorApp(
        shops if shops is not None else Shops(),
        state_name="toys",
        routes=[*ADMIN.routes(), Route("/toys", toys, methods=["GET", "POST"])],
        unmatched=lambda request, status: _error(status, f"no toy at {request.url.path}"),
    )


@pytest.fixture
def shops() -> Shops:
    return Shops(seed=3)


@pytest.fixture
async def client(shops: Shops) -> Any:
    transport = httpx.ASGITransport(app=create_toy_app(shops))
    async with httpx.AsyncClient(transport=transport, base_url="https://north.toys.test") as c:
        yield c


class TestTenants:
    async def test_host_picks_the_tenant_and_each_is_seeded_on_first_use(
        self, shops: Shops, client: httpx.AsyncClient
    ) -> None:
        assert (await client.get("/toys")).json() == ["toy-0", "toy-1", "toy-2"]
        await client.post("/toys")
        other = await client.get("/toys", headers={"host": "127.0.0.1:9"})
        assert other.json() == ["toy-0", "toy-1", "toy-2"]
        assert sorted(shops.tenants) == ["default", "north"]
        assert shops.tenant("north").toys[-1] == "new"
        assert Shops.tenant_name("South.TOYS.test:443") == "south"
        assert Shops.tenant_name("a.b.toys.test") == "default"


class TestAdminAPI:
    async def test_reset_seed_stats_and_unmatched(self, client: httpx.AsyncClient) -> None:
        await client.get("/toys")
        await client.delete("/toys")
        missing = await client.get("/nowhere")
        assert missing.status_code == 404
        assert missing.json() == {"toy_error": "no toy at /nowhere"}
        assert (await client.get("/_fake/stats")).json() == {
            "requests": {"DELETE <unmatched>": 1, "GET /toys": 1, "GET <unmatched>": 1},
            "statuses": {"200": 1, "404": 1, "405": 1},
            "total": 3,
            "peak_in_flight": 1,
            "faults": {},
        }
        assert (await client.post("/_fake/seed", json=5)).json() == {"shop": "north", "toys": 5}
        refused = await client.post("/_fake/seed", json="many")
        assert (refused.status_code, refused.json()) == (400, {"error": "a toy seed is a number"})
        cleared = (await client.post("/_fake/stats/reset")).json()
        assert cleared["total"] == 0 and cleared["requests"] == {}
        assert (await client.post("/_fake/reset", json={})).json() == {"shop": "north", "toys": 1}

    async def test_fault_configuration_round_trips_and_is_validated(
        self, client: httpx.AsyncClient
    ) -> None:
        put = await client.put("/_fake/faults", json={"refuse": {"status": 409, "count": 1}})
        assert put.json()["refuse"] == {
            "share": 1.0,
            "status": 409,
            "message": "toys are off",
            "routes": None,
            "count": 1,
        }
        for body, message in [
            ({"refuse": {"status": 429}}, "refuse.status must be a 4xx status other than 429"),
            ({"rate_limit": {"routes": "/toys"}}, "rate_limit.routes must be a list of toy routes"),
            ({"latency_ms": -1}, "latency_ms must be a non-negative number"),
            ({"detail": 1}, "unknown fault settings: ['detail']"),
        ]:
            bad = await client.put("/_fake/faults", json=body)
            assert (bad.status_code, bad.json()) == (400, {"error": message})
        not_json = await client.put("/_fake/faults", content=b"{")
        assert not_json.status_code == 400
        assert "Expecting property name" in not_json.json()["error"]


class TestFaults:
    async def test_each_kind_in_order_and_counted(self, client: httpx.AsyncClient) -> None:
        await client.put(
            "/_fake/faults",
            json={
                "rate_limit": {"share": 1.0, "retry_after": 2, "routes": ["GET /toys"]},
                "error_rate": {"share": 1.0, "status": 502, "routes": ["/toys"]},
            },
        )
        limited = await client.get("/toys")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "2"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.headers["toy-reason"] == "share"
        assert (await client.post("/toys")).status_code == 502
        await client.put("/_fake/faults", json={"refuse": {"count": 1}})
        assert (await client.post("/toys")).json() == {"toy_error": "refused"}
        assert (await client.post("/toys")).status_code == 201  # count used up
        stats = (await client.get("/_fake/stats")).json()
        assert stats["faults"] == {"refused": 1}

    async def test_token_bucket_per_route(self, client: httpx.AsyncClient) -> None:
        await client.put("/_fake/faults", json={"rate_limit": {"per_second": 1}})
        assert (await client.get("/toys")).status_code == 200
        burst = await client.get("/toys")
        assert (burst.status_code, burst.headers["toy-reason"]) == (429, "burst")
        assert (await client.post("/toys")).status_code == 201  # another route's bucket

    async def test_ambiguous_5xx_applies_then_fails(
        self, shops: Shops, client: httpx.AsyncClient
    ) -> None:
        await client.put("/_fake/faults", json={"ambiguous": {"status": 503, "count": 1}})
        failed = await client.post("/toys")
        assert (failed.status_code, failed.json()) == (503, {"toy_error": "applied, then failed"})
        assert shops.tenant("north").toys[-1] == "new"
        assert (await client.get("/_fake/stats")).json()["faults"] == {"ambiguous_5xx": 1}

    async def test_ambiguous_drop_hangs_up_in_process(
        self, shops: Shops, client: httpx.AsyncClient
    ) -> None:
        await client.put("/_fake/faults", json={"ambiguous": {"mode": "drop"}})
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/toys")
        assert shops.tenant("north").toys.count("new") == 1

    def test_same_seed_same_draws(self) -> None:
        def draws() -> list[bool]:
            faults = ToyFaults(ToyConfig(seed=42, error_rate=kit.ErrorFault(share=0.5)))
            return [faults.error_status(kit.RouteKey("GET", "/toys")) is None for _ in range(50)]

        assert draws() == draws()
        assert 10 < sum(draws()) < 40

    def test_batch_items_are_hit_only_when_named(self) -> None:
        item = kit.RouteKey("POST", "/toys/{id}", ("/toys/{any}",), batch_item=True)
        assert item.stat == "BATCH POST /toys/{id}"
        assert not item.hit_by(None)
        assert item.hit_by(["POST /toys/{any}"])
        assert item.hit_by(["/toys/{id}"])
        assert not item.hit_by(["GET /toys/{id}"])


class TestServer:
    async def test_https_socket_with_the_generated_certificate(self, tmp_path: Any) -> None:
        pair = generate("faketoy", ("*.toys.test",), tmp_path)
        assert pair.cert_path.name == "faketoy-cert.pem"
        assert pair.key_path.stat().st_mode & 0o777 == 0o600
        with BackgroundServer(create_toy_app(), name="faketoy", tls=pair) as server:
            assert server.base_url.startswith("https://127.0.0.1:")
            assert server.ca_path == pair.cert_path
            trust = ssl.create_default_context(cafile=str(server.ca_path))
            async with httpx.AsyncClient(base_url=server.base_url, verify=trust) as client:
                answer = await client.get("/toys")
        assert answer.json() == ["toy-0"]
        assert not server.thread.is_alive()
