"""API key lifecycle over the API: list, create, revoke, rotate; tenancy; last_used_at."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, select

from tests.fixtures.tenants import make_key
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import ApiKey

KEYS = "/v1/provisioning/api-keys"
ORGS = "/v1/provisioning/organizations"
FIELDS = {"id", "name", "prefix", "created_at", "last_used_at", "revoked_at"}


def h(key: str) -> dict[str, str]:
    return {"X-API-KEY": key}


async def only_key_id(client: httpx.AsyncClient, key: str) -> str:
    r = await client.get(KEYS, headers=h(key))
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    return str(item["id"])


class TestListAndCreate:
    async def test_create_shows_key_once_and_list_never(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        key = await make_key(runtime, "acme")
        r = await client.post(KEYS, json={"name": "ci"}, headers=h(key))
        assert r.status_code == 201, r.text
        created = r.json()
        assert set(created) == FIELDS | {"key"} and created["key"].startswith("tb_")
        assert created["key"].startswith(created["prefix"]) and created["revoked_at"] is None
        # The new key works for the same account.
        assert (await client.get(ORGS, headers=h(created["key"]))).status_code == 200

        listed = (await client.get(KEYS, headers=h(key))).json()
        assert listed["total"] == 2 and [i["name"] for i in listed["items"]] == ["test", "ci"]
        assert all(set(i) == FIELDS for i in listed["items"])
        assert key not in str(listed) and created["key"] not in str(listed)
        one = await client.get(f"{KEYS}/{created['id']}", headers=h(key))
        assert one.status_code == 200 and "key" not in one.json()

    async def test_list_shows_only_own_keys(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        acme, globex = await make_key(runtime, "acme"), await make_key(runtime, "globex")
        acme_id, globex_id = await only_key_id(client, acme), await only_key_id(client, globex)
        assert acme_id != globex_id

    async def test_bad_name_is_422(self, client: httpx.AsyncClient, runtime: Runtime) -> None:
        key = await make_key(runtime, "acme")
        for name in ("", "a\nb", "x" * 201, "evil\u202etxt.exe"):
            r = await client.post(KEYS, json={"name": name}, headers=h(key))
            assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "name"]

    async def test_routes_need_a_valid_key(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(KEYS)).status_code == 401
        assert (await client.get(KEYS, headers=h("tb_nope"))).status_code == 401


class TestCrossAccount:
    async def test_foreign_key_id_is_404_like_unknown(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        acme, globex = await make_key(runtime, "acme"), await make_key(runtime, "globex")
        await client.post(KEYS, json={"name": "second"}, headers=h(globex))
        foreign = (await client.get(KEYS, headers=h(globex))).json()["items"][0]["id"]
        unknown = str(uuid.uuid4())
        for method, suffix in (("GET", ""), ("POST", "/revoke"), ("POST", "/rotate")):
            r_foreign = await client.request(method, f"{KEYS}/{foreign}{suffix}", headers=h(acme))
            r_unknown = await client.request(method, f"{KEYS}/{unknown}{suffix}", headers=h(acme))
            assert r_foreign.status_code == r_unknown.status_code == 404
            assert (
                r_foreign.json()
                == r_unknown.json()
                == {
                    "detail": "api key not found",
                    "errors": [],
                }
            )
        # globex's keys are untouched.
        items = (await client.get(KEYS, headers=h(globex))).json()["items"]
        assert all(i["revoked_at"] is None for i in items)
        assert (await client.get(ORGS, headers=h(globex))).status_code == 200


class TestRevokeAndRotate:
    async def test_revoked_key_is_refused_at_once(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        admin = await make_key(runtime, "acme")
        other = (await client.post(KEYS, json={"name": "ci"}, headers=h(admin))).json()
        assert (await client.get(ORGS, headers=h(other["key"]))).status_code == 200
        r = await client.post(f"{KEYS}/{other['id']}/revoke", headers=h(admin))
        assert r.status_code == 200 and r.json()["revoked_at"] is not None
        refused = await client.get(ORGS, headers=h(other["key"]))
        assert refused.status_code == 401 and refused.json()["detail"] == "invalid API key"
        again = await client.post(f"{KEYS}/{other['id']}/revoke", headers=h(admin))
        assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]

    async def test_revoking_own_key_works_when_another_remains(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        key = await make_key(runtime, "acme")
        spare = (await client.post(KEYS, json={"name": "spare"}, headers=h(key))).json()
        own_id = (await client.get(KEYS, headers=h(key))).json()["items"][0]["id"]
        assert (await client.post(f"{KEYS}/{own_id}/revoke", headers=h(key))).status_code == 200
        assert (await client.get(ORGS, headers=h(key))).status_code == 401
        assert (await client.get(ORGS, headers=h(spare["key"]))).status_code == 200

    async def test_last_active_key_cannot_be_revoked(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        key = await make_key(runtime, "acme")
        key_id = await only_key_id(client, key)
        r = await client.post(f"{KEYS}/{key_id}/revoke", headers=h(key))
        assert r.status_code == 409 and "last active" in r.json()["detail"]
        assert (await client.get(ORGS, headers=h(key))).status_code == 200

    async def test_concurrent_revocations_keep_one_key(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        first = await make_key(runtime, "acme")
        second = (await client.post(KEYS, json={"name": "b"}, headers=h(first))).json()
        first_id = (await client.get(KEYS, headers=h(first))).json()["items"][0]["id"]
        results = await asyncio.gather(
            client.post(f"{KEYS}/{first_id}/revoke", headers=h(second["key"])),
            client.post(f"{KEYS}/{second['id']}/revoke", headers=h(first)),
        )
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        async with runtime.session() as s:
            active = await s.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)))
            assert len(list(active)) == 1

    async def test_rotate_returns_new_key_and_revokes_old(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        key = await make_key(runtime, "acme")
        key_id = await only_key_id(client, key)
        r = await client.post(f"{KEYS}/{key_id}/rotate", headers=h(key))
        assert r.status_code == 201, r.text
        new = r.json()
        assert new["id"] != key_id and new["name"] == "test" and new["key"] != key
        assert (await client.get(ORGS, headers=h(key))).status_code == 401
        assert (await client.get(ORGS, headers=h(new["key"]))).status_code == 200
        items = {
            i["id"]: i for i in (await client.get(KEYS, headers=h(new["key"]))).json()["items"]
        }
        assert items[key_id]["revoked_at"] is not None and items[new["id"]]["revoked_at"] is None
        r = await client.post(f"{KEYS}/{key_id}/rotate", headers=h(new["key"]))
        assert r.status_code == 409


class TestLastUsed:
    async def test_written_at_most_once_a_minute(
        self, client: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        key = await make_key(runtime, "acme")
        t0 = datetime.now(UTC).replace(microsecond=0)
        now = [t0]
        runtime.clock = lambda: now[0]
        updates: list[str] = []

        def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
                updates.append(statement)

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)

        async def last_used() -> datetime | None:
            async with runtime.session() as s:
                return await s.scalar(select(ApiKey.last_used_at))

        assert await last_used() is None
        assert (await client.get(ORGS, headers=h(key))).status_code == 200
        assert await last_used() == t0 and len(updates) == 1
        for secs in (1, 30, 59):
            now[0] = t0 + timedelta(seconds=secs)
            assert (await client.get(ORGS, headers=h(key))).status_code == 200
        assert await last_used() == t0 and len(updates) == 1  # fresh: nothing written
        now[0] = t0 + timedelta(seconds=61)
        assert (await client.get(ORGS, headers=h(key))).status_code == 200
        assert await last_used() == t0 + timedelta(seconds=61) and len(updates) == 2
        listed = (await client.get(KEYS, headers=h(key))).json()["items"][0]
        assert datetime.fromisoformat(listed["last_used_at"]) == t0 + timedelta(seconds=61)
