from __future__ import annotations
import httpx
from ticketbridge.fakejira import Site

async def test_smoke(client: httpx.AsyncClient, tenant, site: Site) -> None:
    r = await client.post("/v1/itsm/tickets", headers=tenant.headers, json={
        "name": "Disk full", "description": "**bold** text", "project_vendor_id": "DEMO", "type": "bug",
        "priority": "HIGH", "tags": ["a", "b"], "due_date": "2030-01-02", "status": "IN_PROGRESS",
        "custom_fields": {"customfield_10030": "REF-1"}})
    print(r.status_code, r.json())
    assert r.status_code == 200
    print(site.stats.to_json(site.faults))
    r2 = await client.patch(f"/v1/itsm/tickets/{r.json()['id']}", headers=tenant.headers, json={"status": "CLOSED", "tags": ["c"], "due_date": None})
    print(r2.status_code, r2.json())
    print(site.get_issue("DEMO-1"))
