"""First run: the one-time setup token, the demo connection and the console's static files."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ticketbridge.connectors.url_policy import UrlPolicy, UrlRefused
from ticketbridge.provisioning.firstrun import SetupToken


def _install_token(app: Any, ttl: float = 60.0) -> tuple[SetupToken, str]:
    token, plain = SetupToken.issue(ttl)
    app.state.setup_token = token
    return token, plain


class TestSetupToken:
    async def test_token_creates_first_key_once(self, app: Any, client: httpx.AsyncClient) -> None:
        _, plain = _install_token(app)
        assert (await client.get("/v1/setup")).json()["setup_pending"] is True
        r = await client.post("/v1/setup", json={"token": plain})
        assert r.status_code == 201, r.text
        key = r.json()["api_key"]
        orgs = await client.get("/v1/provisioning/organizations", headers={"X-API-KEY": key})
        assert orgs.status_code == 200
        # Single use: the same link is dead afterwards.
        again = await client.post("/v1/setup", json={"token": plain})
        assert again.status_code == 404
        assert (await client.get("/v1/setup")).json()["setup_pending"] is False

    async def test_wrong_token_is_403_and_keeps_the_link(
        self, app: Any, client: httpx.AsyncClient
    ) -> None:
        _, plain = _install_token(app)
        r = await client.post("/v1/setup", json={"token": plain[:-1] + "x"})
        assert r.status_code == 403 and "token" in r.json()["detail"]
        assert (await client.post("/v1/setup", json={"token": plain})).status_code == 201

    async def test_expired_token_is_404(self, app: Any, client: httpx.AsyncClient) -> None:
        now = [100.0]
        token, plain = SetupToken.issue(10, clock=lambda: now[0])
        app.state.setup_token = token
        now[0] = 111.0
        assert (await client.post("/v1/setup", json={"token": plain})).status_code == 404

    async def test_no_token_without_serve_is_404(self, client: httpx.AsyncClient) -> None:
        assert (await client.post("/v1/setup", json={"token": "x"})).status_code == 404

    async def test_remote_client_is_refused(self, app: Any) -> None:
        _, plain = _install_token(app)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://tb.test") as remote:
            r = await remote.post("/v1/setup", json={"token": plain})
        assert r.status_code == 403 and "this machine" in r.json()["detail"]

    async def test_concurrent_redeems_create_one_key(
        self, app: Any, client: httpx.AsyncClient
    ) -> None:
        _, plain = _install_token(app)
        answers = await asyncio.gather(
            *(client.post("/v1/setup", json={"token": plain}) for _ in range(5))
        )
        assert sorted(r.status_code for r in answers) == [201, 404, 404, 404, 404]


class TestDemo:
    async def test_demo_connection_syncs_from_in_process_emulator(
        self, app: Any, client: httpx.AsyncClient
    ) -> None:
        _, plain = _install_token(app)
        key = (await client.post("/v1/setup", json={"token": plain})).json()["api_key"]
        r = await client.post("/v1/demo", headers={"X-API-KEY": key})
        assert r.status_code == 201, r.text
        conn = r.json()
        assert conn["credentials"]["base_url"].endswith(".demo.ticketbridge.invalid")
        headers = {"X-API-KEY": key, "X-CONNECTION-ID": conn["id"]}
        for _ in range(600):
            state = (await client.get("/v1/itsm/sync", headers=headers)).json()
            if state["status"] not in ("NEVER", "RUNNING"):
                break
            await asyncio.sleep(0.05)
        assert state["status"] == "IDLE", state
        tickets = await client.get("/v1/itsm/tickets?limit=1", headers=headers)
        assert tickets.json()["total"] == 300
        projects = await client.get("/v1/itsm/passthrough/projects", headers=headers)
        assert projects.status_code == 200 and projects.json()["total"] == 3
        assert (await client.post("/v1/demo", headers={"X-API-KEY": key})).status_code == 409

    async def test_tenants_cannot_point_a_connection_at_the_demo(
        self, client: httpx.AsyncClient, tenant: Any
    ) -> None:
        r = await client.patch(
            f"/v1/provisioning/connections/{tenant.connection_id}",
            headers=tenant.headers,
            json={
                "credentials": {
                    "base_url": "https://demo-00000000.demo.ticketbridge.invalid",
                    "email": "a@example.com",
                    "api_token": "t",
                }
            },
        )
        assert r.status_code == 422 and "credentials.base_url" in r.json()["detail"]

    @pytest.mark.parametrize("allow_private", [False, True])
    async def test_url_policy_refuses_demo_hosts(self, allow_private: bool) -> None:
        with pytest.raises(UrlRefused, match="reserved for the built-in demo"):
            await UrlPolicy(allow_private=allow_private).check(
                "https://x.demo.ticketbridge.invalid"
            )


class TestConsoleFiles:
    async def test_root_redirects_and_console_has_csp(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/")
        assert r.status_code == 307 and r.headers["location"] == "/console/"
        page = await client.get("/console/")
        assert page.status_code == 200 and "<script" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        js = await client.get("/console/app.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")

    async def test_no_file_outside_static(self, client: httpx.AsyncClient) -> None:
        for path in ("/console/../__init__.py", "/console/%2e%2e/__init__.py", "/console/nope.js"):
            assert (await client.get(path)).status_code == 404
