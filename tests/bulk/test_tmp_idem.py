import httpx
from tests.bulk.conftest import ticket
async def test_idem(client: httpx.AsyncClient, tenant, site):
    headers = {**tenant.headers, "Idempotency-Key": "k1"}
    r = await client.post("/v1/itsm/tickets", json=ticket(1), headers=headers)
    assert r.status_code == 200, r.text
