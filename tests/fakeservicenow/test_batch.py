"""The Batch API: ordered items, per-item statuses, base64 bodies, unserviced requests."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from ticketbridge.fakeservicenow import Instance


def item(item_id: str, method: str, url: str, body: Any = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item_id,
        "method": method,
        "url": url,
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        **extra,
    }
    if body is not None:
        out["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return out


def decoded(served: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(served["body"])) if served.get("body") else None


async def send(client: httpx.AsyncClient, *items: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        "/api/now/v1/batch", json={"batch_request_id": "b-1", "rest_requests": list(items)}
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_items_run_in_order_with_their_own_statuses(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    data = await send(
        client,
        item(
            "1",
            "POST",
            "/api/now/table/incident?sysparm_fields=sys_id,number",
            {"short_description": "a"},
        ),
        item("2", "POST", "/api/now/table/incident", {"short_description": "b", "state": "6"}),
        item(
            "3",
            "GET",
            "/api/now/table/incident?sysparm_query=short_description=a&sysparm_fields=number",
        ),
        item("4", "GET", "/api/now/table/incident/" + "0" * 32),
        item("5", "PUT", "/api/now/table/nothing_here"),
    )
    assert data["batch_request_id"] == "b-1"
    assert data["unserviced_requests"] == []
    served = data["serviced_requests"]
    assert [s["id"] for s in served] == ["1", "2", "3", "4", "5"]
    assert [s["status_code"] for s in served] == [201, 403, 200, 404, 405]
    first = decoded(served[0])["result"]
    assert first["number"] == "INC0010001"
    assert decoded(served[2]) == {"result": [{"number": "INC0010001"}]}
    assert served[1]["error_message"] == "Operation Failed"
    assert served[0]["status_text"] == "Created"
    assert {"name": "X-Total-Count", "value": "1"} in served[2]["headers"]
    assert instance.count("incident") == 1  # the refused item changed nothing


async def test_patch_and_delete_items(client: httpx.AsyncClient, instance: Instance) -> None:
    record = instance.insert("incident", {"short_description": "x"})
    url = f"/api/now/table/incident/{record['sys_id']}"
    data = await send(
        client,
        item("p", "PATCH", url, {"urgency": "1", "impact": "1"}),
        item("d", "DELETE", url, exclude_response_headers=True),
    )
    patch, delete = data["serviced_requests"]
    assert decoded(patch)["result"]["priority"] == "1"
    assert delete["status_code"] == 204 and "body" not in delete
    assert delete["headers"] == []
    assert instance.get("incident", record["sys_id"]) is None


async def test_items_over_the_limit_are_unserviced(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    instance.batch_max_requests = 2
    data = await send(
        client,
        *(
            item(str(n), "POST", "/api/now/table/incident", {"short_description": str(n)})
            for n in range(5)
        ),
    )
    assert [s["id"] for s in data["serviced_requests"]] == ["0", "1"]
    assert data["unserviced_requests"] == ["2", "3", "4"]
    assert instance.count("incident") == 2


async def test_stats_count_the_batch_and_its_items(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    await send(
        client,
        item("1", "POST", "/api/now/table/incident", {"short_description": "a"}),
        item("2", "POST", "/api/now/table/incident", {"short_description": "b"}),
    )
    stats = (await client.get("/_fake/stats")).json()["requests"]
    assert stats["POST /api/now/v1/batch"] == 1
    assert stats["BATCH POST /api/now/table/incident"] == 2


async def test_bad_batches(client: httpx.AsyncClient) -> None:
    missing = await client.post("/api/now/v1/batch", json={"batch_request_id": "x"})
    assert missing.status_code == 400
    assert missing.json()["status"] == "failure"
    broken = await send(
        client,
        item("1", "GET", "/api/now/nowhere"),
        {"id": "2", "method": "POST", "url": "/api/now/table/incident", "body": "***"},
        item("3", "POST", "/api/now/v1/batch", {"rest_requests": []}),
    )
    assert [s["status_code"] for s in broken["serviced_requests"]] == [400, 400, 400]


async def test_batch_needs_authentication(app: object) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="https://acme.service-now.com",
    ) as anonymous:
        response = await anonymous.post("/api/now/v1/batch", json={"rest_requests": []})
    assert response.status_code == 401
