"""Basic authentication and OAuth tokens from /oauth_token.do."""

from __future__ import annotations

from typing import Any

import httpx

from ticketbridge.fakeservicenow import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    FakeServiceNowApp,
    Instance,
)

from .conftest import Clock, make_client

UNAUTHENTICATED = {
    "error": {
        "message": "User Not Authenticated",
        "detail": "Required to provide Auth information",
    },
    "status": "failure",
}


async def token(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    return await client.post(
        "/oauth_token.do",
        data={"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET, **form},
    )


async def test_missing_and_wrong_credentials(app: FakeServiceNowApp, instance: Instance) -> None:
    async with make_client(app, auth=None) as anonymous:
        missing = await anonymous.get("/api/now/table/incident")
        assert missing.status_code == 401
        assert missing.json() == UNAUTHENTICATED
        assert "WWW-Authenticate" in missing.headers
    async with make_client(app, auth=("admin", "wrong")) as wrong:
        refused = await wrong.get("/api/now/table/incident")
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "User is not authenticated"


async def test_inactive_and_locked_users_cannot_authenticate(
    app: FakeServiceNowApp, instance: Instance
) -> None:
    instance.add_user("gone", "Gone Away", active=False)
    locked = instance.add_user("locked", "Locked Out")
    instance.update("sys_user", locked["sys_id"], {"locked_out": "true"})
    for name in ("gone", "locked"):
        async with make_client(app, auth=(name, "fake-password")) as c:
            assert (await c.get("/api/now/table/sys_user")).status_code == 401


async def test_passwords_are_never_returned(client: httpx.AsyncClient) -> None:
    users = (await client.get("/api/now/table/sys_user")).json()["result"]
    assert users and all("user_password" not in u for u in users)
    picked = await client.get(
        "/api/now/table/sys_user", params={"sysparm_fields": "user_name,user_password"}
    )
    assert all(list(u) == ["user_name"] for u in picked.json()["result"])


async def test_password_grant_then_bearer_then_refresh(
    app: FakeServiceNowApp, instance: Instance, clock: Clock
) -> None:
    async with make_client(app, auth=None) as c:
        granted = await token(c, grant_type="password", username="admin", password="fake-password")
        assert granted.status_code == 200
        body: dict[str, Any] = granted.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 1799
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        assert (await c.get("/api/now/table/incident", headers=bearer)).status_code == 200
        clock.advance(1800)
        expired = await c.get("/api/now/table/incident", headers=bearer)
        assert expired.status_code == 401
        refreshed = await token(c, grant_type="refresh_token", refresh_token=body["refresh_token"])
        again = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        assert (await c.get("/api/now/table/incident", headers=again)).status_code == 200
        as_access = await token(c, grant_type="refresh_token", refresh_token=body["access_token"])
        assert as_access.status_code == 401


async def test_client_credentials_act_as_the_clients_user(
    app: FakeServiceNowApp, instance: Instance
) -> None:
    async with make_client(app, auth=None) as c:
        granted = await token(c, grant_type="client_credentials")
        assert "refresh_token" not in granted.json()
        bearer = {"Authorization": f"Bearer {granted.json()['access_token']}"}
        created = await c.post(
            "/api/now/table/incident", json={"short_description": "x"}, headers=bearer
        )
        assert created.json()["result"]["sys_created_by"] == "integration"


async def test_client_secret_may_come_as_basic_auth(app: FakeServiceNowApp) -> None:
    async with make_client(app, auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)) as c:
        granted = await c.post(
            "/oauth_token.do",
            data={"grant_type": "password", "username": "admin", "password": "fake-password"},
        )
        assert granted.status_code == 200


async def test_token_endpoint_refusals(app: FakeServiceNowApp) -> None:
    async with make_client(app, auth=None) as c:
        bad_secret = await c.post(
            "/oauth_token.do",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": "x",
            },
        )
        assert bad_secret.status_code == 401
        assert bad_secret.json() == {"error_description": "access_denied", "error": "server_error"}
        bad_user = await token(c, grant_type="password", username="admin", password="nope")
        assert bad_user.status_code == 401
        odd = await token(c, grant_type="authorization_code")
        assert odd.status_code == 400


async def test_registered_clients_and_expiry_through_admin_api(
    client: httpx.AsyncClient, app: FakeServiceNowApp
) -> None:
    added = await client.post(
        "/_fake/oauth/clients",
        json={"client_id": "tb", "client_secret": "s3", "user_name": "admin"},
    )
    assert added.status_code == 201
    async with make_client(app, auth=None) as c:
        granted = await c.post(
            "/oauth_token.do",
            data={"grant_type": "client_credentials", "client_id": "tb", "client_secret": "s3"},
        )
        bearer = {"Authorization": f"Bearer {granted.json()['access_token']}"}
        assert (await c.get("/api/now/table/sys_user", headers=bearer)).status_code == 200
        await client.post("/_fake/oauth/expire")
        assert (await c.get("/api/now/table/sys_user", headers=bearer)).status_code == 401
