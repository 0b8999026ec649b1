"""Seed data, the admin API and serving HTTPS with the generated certificate."""

from __future__ import annotations

import ssl
from collections import Counter

import httpx

from ticketbridge.fakeservicenow import FakeServiceNowState, Instance, SeedSpec, create_app
from ticketbridge.fakeservicenow.server import BackgroundServer

from .conftest import ADMIN

SPEC = SeedSpec(incidents=120, users=15, groups=4, seed=3, now_ms=1_717_200_000_000)


def seeded() -> Instance:
    return FakeServiceNowState(seed=SPEC).default


def test_seed_is_deterministic_and_consistent() -> None:
    first, second = seeded(), seeded()
    assert list(first.rows("incident")) == list(second.rows("incident"))
    rows = list(first.rows("incident"))
    assert len(rows) == 120
    assert [r["number"] for r in rows] == [f"INC{10001 + n:07d}" for n in range(120)]
    assert all(r["close_code"] and r["close_notes"] for r in rows if r["state"] in ("6", "7"))
    assert all(r["active"] == ("false" if r["state"] in ("7", "8") else "true") for r in rows)
    assert len(Counter(r["state"] for r in rows)) == 6
    assert any(r["parent_incident"] for r in rows)
    assert all(r["sys_updated_on"] >= r["sys_created_on"] for r in rows)
    assert all(r["sys_updated_on"] <= "2024-06-01 00:00:00" for r in rows)


def test_seeded_people_have_roles_and_groups() -> None:
    instance = seeded()
    assert instance.count("sys_user") == 15 + 2
    assert instance.count("sys_user_group") == 4
    itil = [u for u in instance.rows("sys_user") if "itil" in instance.roles_of(u["sys_id"])]
    assert len(itil) > 5
    assert instance.count("sys_user_grmember") >= 8
    assert any(
        c["element"] == "category" and c["name"] == "incident" for c in instance.rows("sys_choice")
    )


async def test_admin_reset_seed_users_groups_records(client: httpx.AsyncClient) -> None:
    seeded_now = await client.post("/_fake/seed", json={"incidents": 10, "users": 3, "seed": 1})
    assert seeded_now.json()["tables"]["incident"] == 10
    bad = await client.post("/_fake/seed", json={"incidents": -1})
    assert bad.status_code == 400
    user = await client.post("/_fake/users", json={"user_name": "dev", "name": "Dev One"})
    assert user.status_code == 201 and user.json()["roles"] == ["itil"]
    duplicate = await client.post("/_fake/users", json={"user_name": "dev"})
    assert duplicate.status_code == 409
    group = await client.post("/_fake/groups", json={"name": "Ops", "members": ["dev"]})
    assert group.status_code == 201
    members = await client.get(
        "/api/now/table/sys_user_grmember",
        params={
            "sysparm_query": f"group={group.json()['sys_id']}",
            "sysparm_fields": "user.user_name",
        },
    )
    assert members.json()["result"] == [{"user.user_name": "dev"}]
    incident = (await client.get("/api/now/table/incident", params={"sysparm_limit": "1"})).json()
    sys_id = incident["result"][0]["sys_id"]
    stored = await client.get(f"/_fake/records/incident/{sys_id}")
    assert stored.json()["sys_id"] == sys_id
    assert (await client.get(f"/_fake/records/incident/{'0' * 32}")).status_code == 404
    reset = await client.post("/_fake/reset", json={})
    assert reset.json()["tables"]["incident"] == 0


async def test_instances_are_chosen_by_host(app: object) -> None:
    for host in ("https://one.service-now.com", "https://two.service-now.com"):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url=host,
            auth=ADMIN,
        ) as c:
            await c.post("/api/now/table/incident", json={"short_description": host})
    state: FakeServiceNowState = app.fakeservicenow  # type: ignore[attr-defined]
    assert state.instance("one.service-now.com").count("incident") == 1
    assert state.instance("two").count("incident") == 1


def test_https_with_the_generated_certificate() -> None:
    with BackgroundServer(create_app(), tls=True) as server:
        assert server.base_url.startswith("https://")
        assert server.ca_path is not None
        trusted = ssl.create_default_context(cafile=str(server.ca_path))
        with httpx.Client(base_url=server.base_url, auth=ADMIN, verify=trusted) as c:
            assert c.get("/api/now/table/sys_user").status_code == 200
        untrusted = ssl.create_default_context()
        with httpx.Client(base_url=server.base_url, auth=ADMIN, verify=untrusted) as c:
            try:
                c.get("/api/now/table/sys_user")
            except httpx.ConnectError as exc:
                assert "CERTIFICATE_VERIFY_FAILED" in str(exc)
            else:
                raise AssertionError("an untrusted certificate was accepted")
