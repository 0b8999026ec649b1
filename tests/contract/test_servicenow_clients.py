"""ServiceNow's own Python client (``pysnc``) and ``pysnow``, unmodified, against
fakeservicenow over a real HTTPS socket.

The server's certificate is generated at start (``BackgroundServer(tls=True)``) and trusted by
path (``verify=<ca>``, or ``REQUESTS_CA_BUNDLE`` where a client makes its own session):
verification is never switched off. ``pysnc`` refuses ``http://`` instance URLs (asserted
below), which is why the emulator serves HTTPS at all.

Expected results are computed from the emulator's stored records with plain Python, not with
the emulator's own query engine, so a query-engine bug cannot hide behind itself.

Library limits found (they hold against a real instance too): ``pysnc``'s
``ServiceNowClientCredentialsFlow`` posts to ``/oauth_token.do`` with a bare ``requests.post``
(no ``verify`` passed through), so it trusts the CA only via ``REQUESTS_CA_BUNDLE``; and
requests lets that variable override a session's ``verify`` (see ``trust_emulator_ca``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pysnc
import pysnow
import pytest
import requests
from pysnc.exceptions import InstanceException, RoleException

from ticketbridge.fakeservicenow import (
    DEFAULT_ADMIN_USER,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    FakeServiceNowState,
    Instance,
    SeedSpec,
    create_app,
)
from ticketbridge.fakeservicenow.server import BackgroundServer

ADMIN = (DEFAULT_ADMIN_USER, DEFAULT_PASSWORD)
NOW_MS = 1_717_200_000_000  # 2024-06-01


@pytest.fixture(scope="module")
def live_snow() -> Iterator[BackgroundServer]:
    """One HTTPS server for the module: 300 seeded incidents."""
    state = FakeServiceNowState(
        seed=SeedSpec(incidents=300, users=20, groups=5, seed=7, now_ms=NOW_MS)
    )
    _ = state.default
    with BackgroundServer(create_app(state), tls=True) as server:
        yield server


@pytest.fixture(autouse=True)
def trust_emulator_ca(live_snow: BackgroundServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's ``verify``
    (psf/requests#3829); a machine that sets them (this one does) would make the clients
    ignore ``verify=<ca>``. Point them at the emulator's CA too: trust, not a bypass."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(live_snow.ca_path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def instance(live_snow: BackgroundServer) -> Iterator[Instance]:
    found = live_snow.state.default
    found.stats.reset()
    yield found
    found.batch_max_requests = 1000
    found.faults.configure({})


@pytest.fixture
def snc(live_snow: BackgroundServer, instance: Instance) -> Iterator[pysnc.ServiceNowClient]:
    client = pysnc.ServiceNowClient(live_snow.base_url, ADMIN, verify=str(live_snow.ca_path))
    yield client
    client.session.close()


@pytest.fixture
def snow(live_snow: BackgroundServer, instance: Instance) -> Iterator[pysnow.Client]:
    session = requests.Session()
    session.auth = ADMIN
    session.verify = str(live_snow.ca_path)
    client = pysnow.Client(host=f"{live_snow.host}:{live_snow.port}", session=session)
    yield client
    client.close()


def incidents(instance: Instance) -> list[dict[str, str]]:
    return list(instance.rows("incident"))


def numbers(records: Any) -> set[str]:
    return {r["number"] for r in records}


def calls(instance: Instance, route: str) -> int:
    return instance.stats.routes.get(route, 0)


class TestPysnc:
    def test_refuses_plain_http(self) -> None:
        with pytest.raises(InstanceException):
            pysnc.ServiceNowClient("http://127.0.0.1:1", ADMIN)

    def test_active_query_with_operator_and_order(
        self, snc: pysnc.ServiceNowClient, instance: Instance
    ) -> None:
        gr = snc.GlideRecord("incident")
        gr.add_active_query()
        gr.add_query("priority", "<=", "2")
        gr.order_by_desc("number")
        gr.query()
        got = [r.get_value("number") for r in gr]
        expected = sorted(
            (
                r["number"]
                for r in incidents(instance)
                if r["active"] == "true" and int(r["priority"]) <= 2
            ),
            reverse=True,
        )
        assert got == expected
        assert len(gr) == len(expected) > 0

    def test_or_condition(self, snc: pysnc.ServiceNowClient, instance: Instance) -> None:
        gr = snc.GlideRecord("incident")
        condition = gr.add_query("category", "network")
        condition.add_or_condition("category", "database")
        gr.add_query("state", "IN", "1,2")
        gr.query()
        expected = {
            r["number"]
            for r in incidents(instance)
            if r["category"] in ("network", "database") and r["state"] in ("1", "2")
        }
        assert {r.get_value("number") for r in gr} == expected
        assert expected

    def test_text_operators_and_null_queries(
        self, snc: pysnc.ServiceNowClient, instance: Instance
    ) -> None:
        gr = snc.GlideRecord("incident")
        gr.add_query("short_description", "CONTAINS", "vpn")
        gr.add_null_query("assigned_to")
        gr.query()
        expected = {
            r["number"]
            for r in incidents(instance)
            if "vpn" in r["short_description"].lower() and r["assigned_to"] == ""
        }
        assert {r.get_value("number") for r in gr} == expected
        starts = snc.GlideRecord("incident")
        starts.add_query("short_description", "STARTSWITH", "Printer")
        starts.add_not_null_query("assignment_group")
        starts.query()
        expected_starts = {
            r["number"]
            for r in incidents(instance)
            if r["short_description"].startswith("Printer") and r["assignment_group"]
        }
        assert {r.get_value("number") for r in starts} == expected_starts

    def test_pages_through_everything_in_batches(
        self, snc: pysnc.ServiceNowClient, instance: Instance
    ) -> None:
        gr = snc.GlideRecord("incident", batch_size=40)
        gr.fields = "number,sys_id"
        gr.query()
        seen = [r.get_value("number") for r in gr]
        assert len(seen) == len(set(seen)) == instance.count("incident")
        assert calls(instance, "GET /api/now/table/incident") == -(
            -instance.count("incident") // 40
        )

    def test_get_by_sys_id_and_by_field_with_display_values(
        self, snc: pysnc.ServiceNowClient, instance: Instance
    ) -> None:
        stored = next(r for r in incidents(instance) if r["state"] == "2" and r["assigned_to"])
        gr = snc.GlideRecord("incident")
        assert gr.get(stored["sys_id"])
        assert gr.get_value("number") == stored["number"]
        assert gr.get_display_value("state") == "In Progress"
        assignee = instance.get("sys_user", stored["assigned_to"])
        assert assignee is not None
        assert gr.get_value("assigned_to") == stored["assigned_to"]
        assert gr.get_display_value("assigned_to") == assignee["name"]
        by_number = snc.GlideRecord("incident")
        assert by_number.get("number", stored["number"])
        assert by_number.get_value("sys_id") == stored["sys_id"]
        assert not snc.GlideRecord("incident").get("0" * 32)

    def test_insert_update_delete(self, snc: pysnc.ServiceNowClient, instance: Instance) -> None:
        gr = snc.GlideRecord("incident")
        gr.initialize()
        gr.short_description = "from pysnc"
        gr.impact = "1"
        gr.urgency = "1"
        gr.correlation_id = "pysnc-1"
        sys_id = gr.insert()
        assert sys_id
        stored = instance.get("incident", str(sys_id))
        assert stored is not None
        assert stored["priority"] == "1" and stored["correlation_id"] == "pysnc-1"
        assert gr.get_value("number") == stored["number"]

        gr.state = "6"
        with pytest.raises(RoleException):
            gr.update()  # the close-info data policy's 403, as an instance answers it
        gr.close_code = "Solution provided"
        gr.close_notes = "fixed by a client"
        assert gr.update()
        assert instance.get("incident", str(sys_id))["state"] == "6"  # type: ignore[index]
        assert gr.get_value("resolved_at") != ""

        assert gr.delete()
        assert instance.get("incident", str(sys_id)) is None

    def test_update_multiple_and_delete_multiple_use_the_batch_api(
        self, snc: pysnc.ServiceNowClient, instance: Instance
    ) -> None:
        for n in range(5):
            instance.insert("incident", {"short_description": f"zq-bulk {n}", "u_tag": "bulk"})
        gr = snc.GlideRecord("incident")
        gr.add_query("short_description", "STARTSWITH", "zq-bulk ")
        gr.query()
        for record in gr:
            record.urgency = "1"
        assert gr.update_multiple()
        bulk = [r for r in incidents(instance) if r["short_description"].startswith("zq-bulk ")]
        assert len(bulk) == 5 and all(r["urgency"] == "1" for r in bulk)
        assert calls(instance, "POST /api/now/v1/batch") == 1
        assert calls(instance, "BATCH PATCH /api/now/table/incident/{sys_id}") == 5

        gone = snc.GlideRecord("incident")
        gone.add_query("short_description", "STARTSWITH", "zq-bulk ")
        assert gone.delete_multiple()
        assert not [r for r in incidents(instance) if r["short_description"].startswith("zq-bulk ")]

    def test_unserviced_requests_are_sent_again(
        self, snc: pysnc.ServiceNowClient, instance: Instance
    ) -> None:
        made = [
            instance.insert("incident", {"short_description": f"zq-slow {n}"}) for n in range(5)
        ]
        instance.batch_max_requests = 2
        gr = snc.GlideRecord("incident")
        gr.add_query("short_description", "STARTSWITH", "zq-slow ")
        gr.query()
        for record in gr:
            record.description = "touched"
        statuses: list[int | None] = []
        gr.update_multiple(lambda r: statuses.append(None if r is None else r.status_code))
        assert statuses == [200] * 5, statuses
        assert all(instance.get("incident", r["sys_id"])["description"] == "touched" for r in made)  # type: ignore[index]
        assert calls(instance, "POST /api/now/v1/batch") == 3  # 2 + 2 + 1 items

    def test_password_grant_oauth(self, live_snow: BackgroundServer, instance: Instance) -> None:
        flow = pysnc.ServiceNowPasswordGrantFlow(
            DEFAULT_ADMIN_USER, DEFAULT_PASSWORD, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
        )
        client = pysnc.ServiceNowClient(live_snow.base_url, flow, verify=str(live_snow.ca_path))
        gr = client.GlideRecord("sys_user")
        assert gr.get("user_name", DEFAULT_ADMIN_USER)
        assert gr.get_value("name") == "System Administrator"
        assert calls(instance, "POST /oauth_token.do") == 1

    def test_client_credentials_oauth(
        self,
        live_snow: BackgroundServer,
        instance: Instance,
    ) -> None:
        flow = pysnc.ServiceNowClientCredentialsFlow(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        client = pysnc.ServiceNowClient(live_snow.base_url, flow, verify=str(live_snow.ca_path))
        gr = client.GlideRecord("incident")
        gr.initialize()
        gr.short_description = "as the integration user"
        sys_id = gr.insert()
        stored = instance.get("incident", str(sys_id))
        assert stored is not None and stored["sys_created_by"] == "integration"


class TestPysnow:
    def test_query_builder_with_dates_or_and_order(
        self, snow: pysnow.Client, instance: Instance
    ) -> None:
        since = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
        query = (
            pysnow.QueryBuilder()
            .field("sys_created_on")
            .greater_than(since)
            .AND()
            .field("category")
            .equals("hardware")
            .OR()
            .field("category")
            .equals("software")
            .AND()
            .field("number")
            .order_descending()
        )
        incident = snow.resource(api_path="/table/incident")
        got = [r["number"] for r in incident.get(query=query, fields=["number"]).all()]
        expected = sorted(
            (
                r["number"]
                for r in incidents(instance)
                if r["sys_created_on"] > "2024-04-01 00:00:00"
                and r["category"] in ("hardware", "software")
            ),
            reverse=True,
        )
        assert got == expected and expected

    def test_between_dates_and_new_query(self, snow: pysnow.Client, instance: Instance) -> None:
        start = dt.datetime(2024, 4, 1)
        end = dt.datetime(2024, 4, 15, 23, 59, 59)
        query = (
            pysnow.QueryBuilder()
            .field("sys_created_on")
            .between(start, end)
            .NQ()
            .field("priority")
            .equals("1")
        )
        incident = snow.resource(api_path="/table/incident")
        got = numbers(incident.get(query=query, fields=["number"], stream=True).all())
        expected = {
            r["number"]
            for r in incidents(instance)
            if "2024-04-01 00:00:00" <= r["sys_created_on"] <= "2024-04-15 23:59:59"
            or r["priority"] == "1"
        }
        assert got == expected and expected

    def test_dict_query_limit_offset_and_headers(
        self, snow: pysnow.Client, instance: Instance
    ) -> None:
        incident = snow.resource(api_path="/table/incident")
        response = incident.get(query={"state": "1"}, limit=5, offset=5, fields=["number"])
        page = list(response.all())
        all_new = [r["number"] for r in incidents(instance) if r["state"] == "1"]
        assert [r["number"] for r in page] == all_new[5:10]
        assert response.headers["X-Total-Count"] == str(len(all_new))
        assert 'rel="next"' in response.headers["Link"]

    def test_create_update_delete(self, snow: pysnow.Client, instance: Instance) -> None:
        incident = snow.resource(api_path="/table/incident")
        created = incident.create(
            payload={"short_description": "from pysnow", "impact": 2, "urgency": 2}
        ).one()
        assert created["priority"] == "3"
        sys_id = created["sys_id"]
        with pytest.raises(requests.HTTPError) as refused:
            incident.update(
                query={"sys_id": sys_id}, payload={"state": "7", "close_code": "Duplicate"}
            ).one()  # missing close notes: the data policy's 403
        assert refused.value.response is not None
        assert refused.value.response.status_code == 403
        done = incident.update(
            query={"sys_id": sys_id},
            payload={"state": "7", "close_code": "Duplicate", "close_notes": "dup"},
        ).one()
        assert done["active"] == "false"
        assert incident.delete(query={"sys_id": sys_id}) == {"status": "record deleted"}
        assert instance.get("incident", sys_id) is None

    def test_display_values_and_reference_links(
        self, snow: pysnow.Client, instance: Instance, live_snow: BackgroundServer
    ) -> None:
        stored = next(r for r in incidents(instance) if r["assignment_group"])
        incident = snow.resource(api_path="/table/incident")
        raw = incident.get(query={"sys_id": stored["sys_id"]}).one()
        assert raw["assignment_group"]["value"] == stored["assignment_group"]
        assert raw["assignment_group"]["link"].startswith(live_snow.base_url)
        group = snow.resource(api_path="/table/sys_user_group")
        linked = group.get(query={"sys_id": raw["assignment_group"]["value"]}).one()
        shown = incident.get(
            query={"sys_id": stored["sys_id"]}, display_value=True, exclude_reference_link=True
        ).one()
        assert shown["assignment_group"] == linked["name"]

    def test_oauth_client_with_token_refresh(
        self,
        live_snow: BackgroundServer,
        instance: Instance,
    ) -> None:
        updates: list[dict[str, Any]] = []
        client = pysnow.OAuthClient(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            token_updater=updates.append,
            host=f"{live_snow.host}:{live_snow.port}",
        )
        client.set_token(client.generate_token(DEFAULT_ADMIN_USER, DEFAULT_PASSWORD))
        users = client.resource(api_path="/table/sys_user")
        assert users.get(query={"user_name": DEFAULT_ADMIN_USER}).one()["name"] == (
            "System Administrator"
        )
        instance.expire_tokens()
        client.token["expires_at"] = 1  # the client refreshes once it sees the token expired
        users = client.resource(api_path="/table/sys_user")
        assert users.get(query={"user_name": DEFAULT_ADMIN_USER}).one()["user_name"] == "admin"
        assert updates, "the client refreshed its token through /oauth_token.do"
