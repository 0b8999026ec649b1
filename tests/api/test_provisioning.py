from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.jobs import wait_job
from tests.fixtures.store import stored
from tests.fixtures.tenants import Tenant, cid, jira_credentials, make_key, make_tenant
from ticketbridge.store.models import (
    IdempotencyKey,
    IssueType,
    Job,
    JobChunk,
    Project,
    SyncState,
    Ticket,
)
from ticketbridge.store.urls import sync_url
from ticketbridge.sync.service import run_sync

SECRET_TOKEN = "sekret-jira-token-0123456789"


class TestHealth:
    async def test_healthz_and_readyz(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        r = await client.get("/readyz")
        assert r.status_code == 200 and r.json()["database"] == "ok"

    async def test_unknown_route_is_404_json(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/nope")
        assert r.status_code == 404 and r.json() == {"detail": "Not Found", "errors": []}

    async def test_openapi_document_lists_routes(self, client: httpx.AsyncClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/v1/provisioning/organizations/{organization_id}/connections" in paths
        assert (await client.get("/docs")).status_code == 200


class TestAuth:
    async def test_missing_key_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/provisioning/organizations")
        assert r.status_code == 401 and "X-API-KEY" in r.json()["detail"]

    async def test_unknown_key_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/provisioning/organizations", headers={"X-API-KEY": "tb_nope"})
        assert r.status_code == 401 and r.json() == {"detail": "invalid API key", "errors": []}

    async def test_key_is_stored_hashed(
        self, client: httpx.AsyncClient, runtime: Any, db_url: str
    ) -> None:
        key = await make_key(runtime, "acme")
        engine = create_engine(sync_url(db_url))
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT prefix, key_hash FROM api_keys")).all()
        engine.dispose()
        assert len(rows) == 1
        assert key not in repr(rows) and key.startswith(rows[0].prefix)
        r = await client.get("/v1/provisioning/organizations", headers={"X-API-KEY": key})
        assert r.status_code == 200 and r.json()["items"] == []


class TestOrganizationsAndConnections:
    async def test_create_and_read_connection(
        self, client: httpx.AsyncClient, runtime: Any
    ) -> None:
        tenant = await make_tenant(
            client,
            runtime,
            "acme",
            credentials=jira_credentials(api_token=SECRET_TOKEN),
            options={"project_keys_filter": ["ENG"]},
        )
        r = await client.get(
            f"/v1/provisioning/connections/{tenant.connection_id}", headers=tenant.headers
        )
        body = r.json()
        assert r.status_code == 200
        assert body["vendor"] == "JIRA" and body["organization_id"] == tenant.org_id
        assert body["is_active"] is True and body["health"] == "UNKNOWN"
        assert body["options"]["project_keys_filter"] == ["ENG"]
        assert body["credentials"] == {
            "base_url": "https://acme.atlassian.net",
            "email": "admin@example.com",
            "api_token": "****6789",
        }
        listed = await client.get(
            f"/v1/provisioning/organizations/{tenant.org_id}/connections", headers=tenant.headers
        )
        assert [c["id"] for c in listed.json()["items"]] == [tenant.connection_id]

    async def test_patch_changes_only_sent_fields(
        self, client: httpx.AsyncClient, runtime: Any
    ) -> None:
        tenant = await make_tenant(client, runtime, "acme")
        url = f"/v1/provisioning/connections/{tenant.connection_id}"
        r = await client.patch(
            url,
            json={
                "refresh_interval_secs": 600,
                "options": {"status_mapping": {"Done": "RESOLVED"}},
            },
            headers=tenant.headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["refresh_interval_secs"] == 600
        assert r.json()["options"]["status_mapping"] == {"Done": "RESOLVED"}
        assert r.json()["identifier"] is None

    async def test_delete_connection(self, client: httpx.AsyncClient, runtime: Any) -> None:
        tenant = await make_tenant(client, runtime, "acme")
        url = f"/v1/provisioning/connections/{tenant.connection_id}"
        assert (await client.delete(url, headers=tenant.headers)).status_code == 204
        gone = await client.get(url, headers=tenant.headers)
        assert (gone.status_code, gone.json()) == (
            404,
            {"detail": "connection not found", "errors": []},
        )
        again = await client.delete(url, headers=tenant.headers)
        assert again.status_code == 404

    async def test_deleting_a_connection_removes_its_tickets_jobs_and_sync_state(
        self, client: httpx.AsyncClient, runtime: Any
    ) -> None:
        tenant = await make_tenant(client, runtime, "acme")
        other = await make_tenant(client, runtime, "globex")
        for t in (tenant, other):
            await run_sync(runtime, cid(t), full=True)
            r = await client.post(
                "/v1/itsm/tickets",
                json={"name": "kept or not", "project_vendor_id": "DEMO", "type": "Task"},
                headers=t.headers,
            )
            assert r.status_code == 200, r.text
            job = await client.post(
                "/v1/itsm/tickets/bulk",
                json={"tickets": [{"name": "j", "project_vendor_id": "DEMO", "type": "Task"}]},
                headers={**t.headers, "Idempotency-Key": "k1"},
            )
            assert job.status_code == 202, job.text
            await wait_job(client, t, job.json()["job_id"])
        models = (Ticket, Job, SyncState, Project, IssueType, IdempotencyKey)
        for model in models:  # each kind of row exists before the delete
            assert await stored(runtime, model, connection_id=cid(tenant)), model.__name__
        chunks = await stored(runtime, JobChunk)
        theirs = {m: len(await stored(runtime, m, connection_id=cid(other))) for m in models}

        url = f"/v1/provisioning/connections/{tenant.connection_id}"
        assert (await client.delete(url, headers=tenant.headers)).status_code == 204

        for model in models:
            assert await stored(runtime, model, connection_id=cid(tenant)) == [], model.__name__
        other_jobs = {j.id for j in await stored(runtime, Job, connection_id=cid(other))}
        assert {c.job_id for c in await stored(runtime, JobChunk)} <= other_jobs
        assert len(await stored(runtime, JobChunk)) < len(chunks)
        # The other connection keeps everything.
        for model in models:
            kept = await stored(runtime, model, connection_id=cid(other))
            assert len(kept) == theirs[model], model.__name__
        # And the deleted connection's id is unknown everywhere, never a 500.
        for path in ("/v1/itsm/tickets", "/v1/jobs", "/v1/itsm/sync"):
            r = await client.get(path, headers=tenant.headers)
            assert r.status_code == 404, (path, r.text)

    async def test_credentials_encrypted_at_rest(
        self, client: httpx.AsyncClient, runtime: Any, db_url: str
    ) -> None:
        await make_tenant(
            client, runtime, "acme", credentials=jira_credentials(api_token=SECRET_TOKEN)
        )
        engine = create_engine(sync_url(db_url))
        with engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM connections")).one()
        engine.dispose()
        assert SECRET_TOKEN not in repr(tuple(row))
        assert SECRET_TOKEN[-4:] in repr(tuple(row))  # only the masked hint
        plain = runtime.box.decrypt_json(row.credentials_encrypted)
        assert plain["api_token"] == SECRET_TOKEN


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"vendor": "ZENDESK", "credentials": jira_credentials()}, "vendor"),
            ({"vendor": "JIRA", "credentials": jira_credentials(email="nope")}, "email"),
            ({"vendor": "JIRA", "credentials": jira_credentials(base_url="ftp://x")}, "base_url"),
            (
                {
                    "vendor": "JIRA",
                    "credentials": {"base_url": "https://a.atlassian.net", "email": "a@b.c"},
                },
                "api_token",
            ),
            (
                {
                    "vendor": "JIRA",
                    "credentials": jira_credentials(),
                    "options": {"status_mapping": {"Done": "FINISHED"}},
                },
                "status_mapping",
            ),
            (
                {"vendor": "JIRA", "credentials": jira_credentials(), "options": {"bogus": 1}},
                "bogus",
            ),
            ({"credentials": jira_credentials()}, "vendor"),
        ],
    )
    async def test_invalid_connection_body_names_field(
        self, client: httpx.AsyncClient, runtime: Any, body: dict[str, Any], field: str
    ) -> None:
        tenant = Tenant(api_key=await make_key(runtime, "acme"))
        org = (
            await client.post(
                "/v1/provisioning/organizations", json={"name": "o"}, headers=tenant.headers
            )
        ).json()
        r = await client.post(
            f"/v1/provisioning/organizations/{org['id']}/connections",
            json=body,
            headers=tenant.headers,
        )
        assert r.status_code == 422
        locs = [e["loc"] for e in r.json()["errors"]]
        assert any(field in loc for loc in locs), r.json()

    async def test_malformed_ids_are_422(self, client: httpx.AsyncClient, runtime: Any) -> None:
        tenant = await make_tenant(client, runtime, "acme")
        r = await client.get("/v1/provisioning/connections/not-a-uuid", headers=tenant.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["path", "connection_id"]
        r = await client.get("/v1/provisioning/organizations/123", headers=tenant.headers)
        assert r.status_code == 422

    async def test_invalid_token_never_echoed(
        self, client: httpx.AsyncClient, runtime: Any
    ) -> None:
        tenant = Tenant(api_key=await make_key(runtime, "acme"))
        org = (
            await client.post(
                "/v1/provisioning/organizations", json={"name": "o"}, headers=tenant.headers
            )
        ).json()
        r = await client.post(
            f"/v1/provisioning/organizations/{org['id']}/connections",
            json={
                "vendor": "JIRA",
                "credentials": {
                    "base_url": "https://x.atlassian.net",
                    "email": "a@b.c",
                    "api_token": {"nested": SECRET_TOKEN},
                },
            },
            headers=tenant.headers,
        )
        assert r.status_code == 422 and SECRET_TOKEN not in r.text


class TestTenantIsolation:
    async def test_foreign_ids_look_unknown_and_change_nothing(
        self, client: httpx.AsyncClient, runtime: Any, app: Any
    ) -> None:
        a = await make_tenant(client, runtime, "alpha")
        b = await make_tenant(client, runtime, "beta")
        before = (
            await client.get(f"/v1/provisioning/connections/{b.connection_id}", headers=b.headers)
        ).json()
        cid, oid = b.connection_id, b.org_id
        attempts = [
            ("GET", f"/v1/provisioning/connections/{cid}", None),
            ("PATCH", f"/v1/provisioning/connections/{cid}", {"refresh_interval_secs": 600}),
            ("POST", f"/v1/provisioning/connections/{cid}/test", None),
            ("DELETE", f"/v1/provisioning/connections/{cid}", None),
            ("GET", f"/v1/provisioning/organizations/{oid}", None),
            ("GET", f"/v1/provisioning/organizations/{oid}/connections", None),
            (
                "POST",
                f"/v1/provisioning/organizations/{oid}/connections",
                {"vendor": "JIRA", "credentials": jira_credentials()},
            ),
        ]
        for method, url, body in attempts:
            r = await client.request(method, url, json=body, headers={"X-API-KEY": a.api_key})
            unknown = await client.request(
                method,
                url.replace(str(cid), str(uuid.uuid4())).replace(str(oid), str(uuid.uuid4())),
                json=body,
                headers={"X-API-KEY": a.api_key},
            )
            assert r.status_code == 404, (method, url, r.text)
            assert r.json() == unknown.json(), (method, url)
        # Every data route (X-CONNECTION-ID) refuses the other account's connection the same way.
        for path, item in app.openapi()["paths"].items():
            for method, op in item.items():
                params = {p["name"] for p in op.get("parameters", [])}
                if "X-CONNECTION-ID" not in params:
                    continue
                url = path.replace("{", "").replace("}", "")
                url = "/".join(
                    str(uuid.uuid4()) if s.endswith("_id") else s for s in url.split("/")
                )
                r = await client.request(
                    method.upper(),
                    url,
                    json={},
                    headers={"X-API-KEY": a.api_key, "X-CONNECTION-ID": cid},
                )
                assert r.status_code == 404, (method, path, r.text)
                assert r.json() == {"detail": "connection not found", "errors": []}
        after = (await client.get(f"/v1/provisioning/connections/{cid}", headers=b.headers)).json()
        assert after == before


class TestSecretsNeverLogged:
    async def test_token_absent_from_logs_and_responses(
        self, client: httpx.AsyncClient, runtime: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        tenant = await make_tenant(
            client, runtime, "acme", credentials=jira_credentials(api_token=SECRET_TOKEN)
        )
        bodies = []
        for r in [
            await client.get(
                f"/v1/provisioning/connections/{tenant.connection_id}", headers=tenant.headers
            ),
            await client.post(
                f"/v1/provisioning/connections/{tenant.connection_id}/test", headers=tenant.headers
            ),
            await client.patch(
                f"/v1/provisioning/connections/{tenant.connection_id}",
                json={"credentials": jira_credentials(api_token=SECRET_TOKEN + "x")},
                headers=tenant.headers,
            ),
        ]:
            bodies.append(r.text)
        assert all(SECRET_TOKEN not in b for b in bodies)
        assert caplog.records, "expected the service to log something"
        assert SECRET_TOKEN not in caplog.text
        assert tenant.api_key not in caplog.text


class TestConnectionCheck:
    async def test_valid_credentials_are_healthy(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        url = f"/v1/provisioning/connections/{tenant.connection_id}"
        r = await client.post(f"{url}/test", headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json()["health"] == "HEALTHY"
        assert r.json()["vendor_account_name"]
        stored = (await client.get(url, headers=tenant.headers)).json()
        assert stored["health"] == "HEALTHY" and stored["health_checked_at"]

    async def test_wrong_token_is_unhealthy_with_clear_detail(
        self, client: httpx.AsyncClient, runtime: Any, fake_site: Any
    ) -> None:
        tenant = await make_tenant(
            client, runtime, "acme", credentials=jira_credentials(api_token="wrong-token")
        )
        url = f"/v1/provisioning/connections/{tenant.connection_id}"
        r = await client.post(f"{url}/test", headers=tenant.headers)
        assert r.status_code == 200
        assert r.json()["health"] == "UNHEALTHY"
        assert "credentials" in r.json()["detail"] and "wrong-token" not in r.text
        assert (await client.get(url, headers=tenant.headers)).json()["health"] == "UNHEALTHY"
        assert fake_site.stats.routes["GET /rest/api/3/myself"] == 1
