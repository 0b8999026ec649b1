"""The JSON of the read shapes (catalog, tickets, passthrough's normalized view) is pinned to a
recorded answer, so moving or rebuilding the mapping code cannot change what clients see:
field names, their order, nesting and values. Volatile parts are masked (store UUIDs become
``<uuid-N>`` by first appearance, date-times ``<time>`` with their zone suffix kept); the
vendor's data comes from a seed pinned to a fixed date. One recording per backend:
PostgreSQL's jsonb reorders the keys of stored JSON (``vendor_attributes``).
``UPDATE_GOLDEN=1`` rewrites the recordings."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.emulator import seed
from tests.fixtures.tenants import Tenant, cid
from ticketbridge.fakejira import Site
from ticketbridge.runtime import Runtime
from ticketbridge.sync.service import run_sync

GOLDEN = Path(__file__).parent / "golden"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?")


class _Masker:
    def __init__(self) -> None:
        self.uuids: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, str):
            value = _UUID.sub(self._uuid, value)
            return _TIME.sub("<time>", value)
        return value

    def _uuid(self, match: re.Match[str]) -> str:
        return self.uuids.setdefault(match[0], f"<uuid-{len(self.uuids)}>")


def _by_vendor(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Store ids of rows written in one millisecond do not sort by content: order by vendor id.
    return sorted(items, key=lambda i: str(i.get("vendor_id") or i.get("identifier")))


async def _answers(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    async def get(url: str, **params: Any) -> Any:
        r = await client.get(url, params=params, headers=tenant.headers)
        assert r.status_code == 200, r.text
        return r.json()

    out: dict[str, Any] = {}
    projects = await get("/v1/itsm/projects")
    projects["items"] = _by_vendor(projects["items"])
    out["projects"] = projects
    project = projects["items"][0]
    out["project"] = await get(f"/v1/itsm/projects/{project['id']}")
    types = await get("/v1/itsm/issue-types", project_id=project["id"])
    types["items"] = _by_vendor(types["items"])
    out["issue_types"] = types
    users = await get("/v1/itsm/users", enableCursor="true")
    users["items"] = _by_vendor(users["items"])
    out["users_cursor"] = {k: v for k, v in users.items() if not k.endswith("cursor")}
    out["user"] = await get(f"/v1/itsm/users/{users['items'][0]['id']}")
    tickets = await get("/v1/itsm/tickets")
    tickets["items"] = _by_vendor(tickets["items"])
    out["tickets"] = tickets
    first = tickets["items"][0]
    out["ticket"] = await get(f"/v1/itsm/tickets/{first['id']}")
    out["ticket_by_identifier"] = await get(f"/v1/itsm/tickets/by-identifier/{first['identifier']}")
    r = await client.post(
        "/v1/itsm/tickets",
        json={
            "name": "Printer on fire",
            "description": "Second floor",
            "project_id": project["id"],
            "type": types["items"][0]["name"],
            "assigned_user_id": users["items"][0]["id"],
            "priority": "HIGH",
            "identifier": "golden-1",
            "tags": ["hardware"],
        },
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    out["created"] = r.json()
    r = await client.patch(
        f"/v1/itsm/tickets/{out['created']['id']}",
        json={"status": "IN_PROGRESS", "assigned_user_id": None},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    out["updated"] = r.json()
    search = await get(
        "/v1/itsm/passthrough/tickets/search",
        jql=f"key = {first['project_vendor_id']}-1",
        fields="summary",
        normalized="true",
    )
    out["passthrough_normalized"] = [i["normalized"] for i in search["items"]]
    return out


class TestResponseShapes:
    async def test_read_shapes_match_the_recording(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        fake_site: Site,
        tenant: Tenant,
        db_url: str,
    ) -> None:
        seed(fake_site, projects=1, per_project=3, users=2)
        await run_sync(runtime, cid(tenant))
        actual = json.dumps(_Masker()(await _answers(client, tenant)), indent=1) + "\n"
        golden = GOLDEN / f"response_shapes_{db_url.split(':')[0].split('+')[0]}.json"
        if os.environ.get("UPDATE_GOLDEN") == "1":
            golden.write_text(actual)
        # A string comparison: key order is part of the answer too.
        assert actual == golden.read_text()
