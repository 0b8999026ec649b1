"""What comes back from a vendor: never echoed raw, bounded in size and time, no cookies.

The vendor here is a tiny server on loopback (so ``allow_private_vendor_urls`` is on): it
plays an internal service reached by mistake, a broken proxy, a slow or a huge answer.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.fixtures.service import RecordingSleep
from tests.fixtures.tenants import Tenant
from tests.security.vendor_servers import (
    CONNECTIONS,
    Reply,
    Seen,
    TinyServer,
    api,
    check_connection,
    connected,
    iter_chunks,
    json_reply,
    organization,
)
from ticketbridge.config import Settings
from ticketbridge.connectors.http import RetryPolicy

SECRET = "AKIA-INTERNAL-ROLE-CREDENTIALS"
PROJECTS = "/v1/itsm/passthrough/projects"
MYSELF = b'{"accountId": "5b10a2844c20165700ede21g", "displayName": "Admin"}'
# A guard against hanging forever on the code before the fix; the deadlines under test are
# far shorter, so this never decides a passing run.
HANG_GUARD_SECS = 30


@pytest.fixture
def policy(retry_sleep: RecordingSleep) -> RetryPolicy:
    return RetryPolicy(sleep=retry_sleep)


@asynccontextmanager
async def one_vendor(
    settings: Settings, policy: RetryPolicy, reply: Reply | None
) -> AsyncIterator[tuple[httpx.AsyncClient, Tenant, TinyServer]]:
    """The API with one connection to a vendor that always gives ``reply`` (None: silence)."""

    async def handler(_: Seen) -> Reply | None:
        return reply

    async with TinyServer(handler) as vendor, api(settings, policy) as (client, runtime):
        tenant = await organization(client, runtime, "acme")
        yield client, await connected(client, tenant, vendor.url), vendor


class TestNeverEchoed:
    @pytest.mark.parametrize(
        "reply",
        [
            Reply(404, [("Content-Type", "text/html")], f"<html>{SECRET}</html>".encode()),
            Reply(403, [("Content-Type", "text/plain")], SECRET.encode()),
            json_reply(json.dumps({"message": SECRET, "errorMessage": SECRET}).encode(), 400),
            json_reply(json.dumps({"errorMessages": [{"nested": SECRET}]}).encode(), 400),
            json_reply(json.dumps({"Code": "Success", "displayName": SECRET}).encode()),
            json_reply(json.dumps([{"accountId": "x", "displayName": SECRET}]).encode()),
            Reply(200, [("Content-Type", "text/plain")], SECRET.encode()),
        ],
        ids=["html-404", "text-403", "json-400", "nested-400", "json-200", "list-200", "text-200"],
    )
    async def test_test_endpoint_shows_and_stores_no_internal_body(
        self, settings: Settings, policy: RetryPolicy, reply: Reply
    ) -> None:
        async with one_vendor(settings, policy, reply) as (client, conn, _):
            result = await check_connection(client, conn)
            stored = await client.get(f"{CONNECTIONS}/{conn.connection_id}", headers=conn.headers)

            assert result["health"] == "UNHEALTHY"
            assert result["vendor_account_name"] is None
            assert f"unexpected answer from the vendor (HTTP {reply.status})" in result["detail"]
            assert SECRET not in json.dumps(result) and SECRET not in stored.text
            assert stored.json()["health_detail"] == result["detail"]

    async def test_jiras_documented_messages_are_kept_but_clipped(
        self, settings: Settings, policy: RetryPolicy
    ) -> None:
        body = {"errorMessages": ["x" * 5000], "errors": {"field": "y" * 5000}}
        async with one_vendor(settings, policy, json_reply(json.dumps(body).encode(), 400)) as (
            client,
            conn,
            _,
        ):
            result = await check_connection(client, conn)

            assert result["detail"].startswith("Jira rejected the request: xxxx")
            assert len(result["detail"]) <= 550

    async def test_non_json_success_is_a_502(self, settings: Settings, policy: RetryPolicy) -> None:
        reply = Reply(200, [("Content-Type", "text/html")], f"<p>{SECRET}</p>".encode())
        async with one_vendor(settings, policy, reply) as (client, conn, _):
            r = await client.get(PROJECTS, headers=conn.headers)

            assert r.status_code == 502
            assert r.json() == {
                "detail": "unexpected answer from the vendor (HTTP 200)",
                "errors": [],
            }


class TestSize:
    @pytest.fixture
    def small(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"vendor_max_response_bytes": 4096})

    async def test_an_endless_answer_is_cut_at_the_cap(
        self, small: Settings, policy: RetryPolicy
    ) -> None:
        reply = Reply(200, [("Content-Type", "application/json")], stream=iter_chunks(1024, None))
        async with one_vendor(small, policy, reply) as (client, conn, _):
            async with asyncio.timeout(HANG_GUARD_SECS):
                r = await client.get(PROJECTS, headers=conn.headers)

            assert r.status_code == 502
            assert r.json()["detail"] == "the vendor's answer is larger than 4096 bytes (HTTP 200)"

    async def test_a_large_declared_answer_is_refused(
        self, small: Settings, policy: RetryPolicy
    ) -> None:
        page = {"values": [], "total": 0, "isLast": True, "padding": "p" * 100_000}
        async with one_vendor(small, policy, json_reply(json.dumps(page).encode())) as (
            client,
            conn,
            _,
        ):
            r = await client.get(PROJECTS, headers=conn.headers)

            assert r.status_code == 502
            assert "larger than 4096 bytes" in r.json()["detail"]


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("inf", "3600"),
            ("1e400", "3600"),
            ("99999999999999999999", "3600"),
            ("-5", "5"),
            ("nan", "5"),
        ],
    )
    async def test_absurd_values_give_a_429_not_a_500(
        self, settings: Settings, policy: RetryPolicy, value: str, expected: str
    ) -> None:
        reply = json_reply(b"{}", 429, ("Retry-After", value))
        async with one_vendor(settings, policy, reply) as (client, conn, vendor):
            r = await client.get(PROJECTS, headers=conn.headers)

            assert r.status_code == 429
            assert r.headers["Retry-After"] == expected

    async def test_an_http_date_is_waited_for(
        self, settings: Settings, policy: RetryPolicy, retry_sleep: RecordingSleep
    ) -> None:
        answers = iter([None, MYSELF])

        async def handler(_: Seen) -> Reply:
            body = next(answers)
            if body is None:
                when = datetime.now(UTC) + timedelta(seconds=10)
                return json_reply(
                    b"{}", 429, ("Retry-After", email.utils.format_datetime(when, usegmt=True))
                )
            return json_reply(body)

        async with TinyServer(handler) as vendor, api(settings, policy) as (client, runtime):
            tenant = await organization(client, runtime, "acme")
            result = await check_connection(client, await connected(client, tenant, vendor.url))

        assert result["health"] == "HEALTHY"
        [wait] = retry_sleep.waits
        assert 5.0 < wait <= 10.0  # the date, not a backoff (<= 0.25 s)


class TestDeadline:
    @pytest.fixture
    def quick(self, settings: Settings) -> Settings:
        # The per-attempt timeout stays at its default (30 s): only the deadline can end it.
        return settings.model_copy(update={"vendor_total_deadline_secs": 0.5})

    async def test_a_silent_vendor_gives_a_504_at_the_deadline(
        self, quick: Settings, policy: RetryPolicy
    ) -> None:
        async with one_vendor(quick, policy, None) as (client, conn, vendor):
            async with asyncio.timeout(HANG_GUARD_SECS):
                r = await client.get(PROJECTS, headers=conn.headers)
                result = await check_connection(client, conn)

            assert r.status_code == 504
            assert r.json() == {"detail": "Jira did not answer in time", "errors": []}
            assert result["health"] == "UNHEALTHY"
            assert result["detail"] == "Jira did not answer in time"
            assert len(vendor.requests) == 2  # one attempt each: no retry past the deadline


class TestCookies:
    async def test_a_cookie_set_for_one_connection_never_reaches_another(
        self, settings: Settings, policy: RetryPolicy
    ) -> None:
        async def handler(seen: Seen) -> Reply:
            # Only tenant A's vendor session gets a cookie.
            user = base64.b64decode(seen.headers["authorization"].split()[1]).decode()
            if user.startswith("a@"):
                return json_reply(MYSELF, 200, ("Set-Cookie", "session=A-SESSION; Path=/"))
            return json_reply(MYSELF)

        async with TinyServer(handler) as vendor, api(settings, policy) as (client, runtime):
            a = await connected(
                client, await organization(client, runtime, "a"), vendor.url, "a@x.c"
            )
            b = await connected(
                client, await organization(client, runtime, "b"), vendor.url, "b@x.c"
            )
            for tenant in (a, b, a, b):
                assert (await check_connection(client, tenant))["health"] == "HEALTHY"

            assert len(vendor.requests) == 4
            assert [s.headers.get("cookie") for s in vendor.requests] == [None] * 4
            assert len(runtime.http.cookies.jar) == 0
