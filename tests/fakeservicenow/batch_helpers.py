"""Building Batch API requests in tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx


async def batch_of(client: httpx.AsyncClient, count: int) -> dict[str, Any]:
    """A batch of ``count`` incident inserts; the 200 body."""
    items = [
        {
            "id": str(n),
            "method": "POST",
            "url": "/api/now/table/incident",
            "headers": [],
            "body": base64.b64encode(json.dumps({"short_description": f"b{n}"}).encode()).decode(),
        }
        for n in range(count)
    ]
    response = await client.post("/api/now/v1/batch", json={"rest_requests": items})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data
