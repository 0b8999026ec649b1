"""The Table API: reads, writes, incident semantics, rendering options."""

from __future__ import annotations

import re

import httpx

from ticketbridge.fakeservicenow import Instance

from .conftest import INSTANCE_URL, INTEGRATION, Clock, create, make_client


async def test_create_incident_fills_number_sys_id_priority_and_times(
    client: httpx.AsyncClient,
) -> None:
    first = await create(client, impact="1", urgency="2", correlation_id="tb-1")
    second = await create(client)
    assert re.fullmatch(r"[0-9a-f]{32}", first["sys_id"])
    assert first["number"] == "INC0010001"
    assert second["number"] == "INC0010002"
    assert first["priority"] == "2"  # 1 x 2 in the default lookup
    assert second["priority"] == "5"  # 3 x 3 by default
    assert first["state"] == "1" and first["active"] == "true"
    assert first["sys_created_on"] == "2024-06-01 00:00:00" == first["sys_updated_on"]
    assert first["correlation_id"] == "tb-1"
    assert first["sys_class_name"] == "incident"


async def test_priority_written_directly_is_recomputed(client: httpx.AsyncClient) -> None:
    record = await create(client, impact="3", urgency="3", priority="1")
    assert record["priority"] == "5"


async def test_get_one_and_unknown_answer_servicenow_shapes(client: httpx.AsyncClient) -> None:
    record = await create(client)
    found = await client.get(f"/api/now/table/incident/{record['sys_id']}")
    assert found.status_code == 200
    assert found.json()["result"]["number"] == record["number"]
    missing = await client.get("/api/now/table/incident/" + "0" * 32)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "message": "No Record found",
            "detail": "Record doesn't exist or ACL restricts the record retrieval",
        },
        "status": "failure",
    }
    table = await client.get("/api/now/table/no_such_table")
    assert table.status_code == 400
    assert table.json()["error"]["message"] == "Invalid table no_such_table"


async def test_patch_and_put_update_partially(client: httpx.AsyncClient, clock: Clock) -> None:
    record = await create(client, description="first")
    clock.advance(61)
    for method in ("PATCH", "PUT"):
        response = await client.request(
            method,
            f"/api/now/table/incident/{record['sys_id']}",
            json={"short_description": f"via {method}"},
        )
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        assert result["short_description"] == f"via {method}"
        assert result["description"] == "first"
    assert result["sys_updated_on"] == "2024-06-01 00:01:01"
    assert result["sys_mod_count"] == "2"


async def test_update_without_changes_keeps_updated_on(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    record = await create(client, description="same")
    clock.advance(3600)
    response = await client.patch(
        f"/api/now/table/incident/{record['sys_id']}", json={"description": "same"}
    )
    assert response.json()["result"]["sys_updated_on"] == record["sys_updated_on"]
    assert response.json()["result"]["sys_mod_count"] == "0"


async def test_resolving_requires_close_code_and_notes(client: httpx.AsyncClient) -> None:
    record = await create(client)
    url = f"/api/now/table/incident/{record['sys_id']}"
    refused = await client.patch(url, json={"state": "6", "close_code": "Solution provided"})
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Operation Failed"
    assert "Resolution notes" in refused.json()["error"]["detail"]
    assert "Resolution code" not in refused.json()["error"]["detail"]
    resolved = await client.patch(
        url, json={"state": "6", "close_code": "Solution provided", "close_notes": "done"}
    )
    assert resolved.status_code == 200
    assert resolved.json()["result"]["resolved_at"] != ""
    assert resolved.json()["result"]["active"] == "true"
    closed = await client.patch(url, json={"state": "7"})
    assert closed.json()["result"]["active"] == "false"
    assert closed.json()["result"]["closed_at"] != ""


async def test_canceled_needs_no_close_info_and_is_inactive(client: httpx.AsyncClient) -> None:
    record = await create(client)
    canceled = await client.patch(
        f"/api/now/table/incident/{record['sys_id']}", json={"state": "8"}
    )
    assert canceled.status_code == 200
    assert canceled.json()["result"]["active"] == "false"


async def test_reopening_counts_and_clears_resolution_times(client: httpx.AsyncClient) -> None:
    record = await create(client, state="6", close_code="Duplicate", close_notes="dup")
    assert record["resolved_at"] != ""
    reopened = await client.patch(
        f"/api/now/table/incident/{record['sys_id']}", json={"state": "2"}
    )
    result = reopened.json()["result"]
    assert result["reopen_count"] == "1"
    assert result["resolved_at"] == ""


async def test_custom_u_fields_are_stored_and_returned(client: httpx.AsyncClient) -> None:
    record = await create(client, u_customer_ref="ACME-7")
    assert record["u_customer_ref"] == "ACME-7"
    other = await create(client)
    assert other["u_customer_ref"] == ""
    unknown = await create(client, not_a_column="x")
    assert "not_a_column" not in unknown


async def test_system_fields_are_not_writable(client: httpx.AsyncClient) -> None:
    record = await create(client, sys_created_on="1999-01-01 00:00:00", sys_mod_count="9")
    assert record["sys_created_on"] == "2024-06-01 00:00:00"
    assert record["sys_mod_count"] == "0"


async def test_sys_id_may_be_chosen_on_insert(client: httpx.AsyncClient) -> None:
    record = await create(client, sys_id="a" * 32)
    assert record["sys_id"] == "a" * 32


async def test_delete_answers_204_and_leaves_an_audit_row(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    record = await create(client)
    deleted = await client.delete(f"/api/now/table/incident/{record['sys_id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    again = await client.delete(f"/api/now/table/incident/{record['sys_id']}")
    assert again.status_code == 404
    audit = await client.get(
        "/api/now/table/sys_audit_delete",
        params={"sysparm_query": f"documentkey={record['sys_id']}"},
    )
    assert [r["tablename"] for r in audit.json()["result"]] == ["incident"]
    assert instance.get("incident", record["sys_id"]) is None


async def test_reference_fields_render_links_unless_excluded(client: httpx.AsyncClient) -> None:
    record = await create(client)
    url = f"/api/now/table/incident/{record['sys_id']}"
    linked = (await client.get(url)).json()["result"]["opened_by"]
    assert linked == {
        "link": f"{INSTANCE_URL}/api/now/table/sys_user/{record['opened_by']}",
        "value": record["opened_by"],
    }
    bare = await client.get(url, params={"sysparm_exclude_reference_link": "true"})
    assert bare.json()["result"]["opened_by"] == record["opened_by"]
    assert bare.json()["result"]["assigned_to"] == ""


async def test_display_values_true_and_all(client: httpx.AsyncClient) -> None:
    record = await create(client, state="2", category="network")
    url = f"/api/now/table/incident/{record['sys_id']}"
    fields = "state,category,opened_by,number"
    shown = await client.get(
        url, params={"sysparm_display_value": "true", "sysparm_fields": fields}
    )
    result = shown.json()["result"]
    assert result["state"] == "In Progress"
    assert result["category"] == "Network"
    assert result["opened_by"]["display_value"] == "System Administrator"
    assert list(result) == ["state", "category", "opened_by", "number"]
    both = await client.get(
        url,
        params={
            "sysparm_display_value": "all",
            "sysparm_fields": fields,
            "sysparm_exclude_reference_link": "true",
        },
    )
    assert both.json()["result"]["state"] == {"display_value": "In Progress", "value": "2"}
    assert both.json()["result"]["opened_by"] == {
        "display_value": "System Administrator",
        "value": record["opened_by"],
    }


async def test_input_display_value_accepts_labels_and_names(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    group = instance.add_group("Network")
    response = await client.post(
        "/api/now/table/incident",
        params={"sysparm_input_display_value": "true", "sysparm_exclude_reference_link": "true"},
        json={
            "short_description": "labels",
            "state": "In Progress",
            "impact": "1 - High",
            "assignment_group": "Network",
            "assigned_to": "Integration User",
        },
    )
    result = response.json()["result"]
    assert result["state"] == "2"
    assert result["impact"] == "1"
    assert result["assignment_group"] == group["sys_id"]
    assert result["assigned_to"] == instance.user_by_name("integration")["sys_id"]  # type: ignore[index]


async def test_dot_walked_fields_can_be_selected(
    client: httpx.AsyncClient, instance: Instance
) -> None:
    record = await create(client)
    response = await client.get(
        f"/api/now/table/incident/{record['sys_id']}",
        params={"sysparm_fields": "number,opened_by.user_name,nonsense"},
    )
    assert response.json()["result"] == {
        "number": record["number"],
        "opened_by.user_name": "admin",
    }


async def test_bad_bodies_answer_400(client: httpx.AsyncClient) -> None:
    for content in (b"", b"{not json", b"[1, 2]"):
        response = await client.post(
            "/api/now/table/incident", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, content
        assert response.json()["status"] == "failure"


async def test_integration_user_writes_tasks_but_not_users(app: object) -> None:
    async with make_client(app, auth=INTEGRATION) as c:
        created = await create(c)
        assert created["opened_by"] != ""
        refused = await c.post("/api/now/table/sys_user", json={"user_name": "x"})
        assert refused.status_code == 403
        assert "ACL Exception Insert Failed" in refused.json()["error"]["detail"]
        delete = await c.delete(f"/api/now/table/incident/{created['sys_id']}")
        assert delete.status_code == 403


async def test_user_without_roles_sees_only_own_tasks(
    app: object, client: httpx.AsyncClient, instance: Instance
) -> None:
    await create(client)
    instance.add_user("ess", "Self Service", roles=())
    async with make_client(app, auth=("ess", "fake-password")) as c:
        listing = await c.get("/api/now/table/incident")
        assert listing.status_code == 200
        assert listing.json()["result"] == []
        refused = await c.post("/api/now/table/incident", json={"short_description": "x"})
        assert refused.status_code == 403


async def test_versioned_paths_serve_the_same_table(client: httpx.AsyncClient) -> None:
    record = await create(client)
    v2 = await client.get(f"/api/now/v2/table/incident/{record['sys_id']}")
    assert v2.status_code == 200
    empty_v2 = await client.get("/api/now/v2/table/incident", params={"sysparm_query": "number=X"})
    assert empty_v2.status_code == 200 and empty_v2.json() == {"result": []}
    empty_v1 = await client.get("/api/now/v1/table/incident", params={"sysparm_query": "number=X"})
    assert empty_v1.status_code == 404


async def test_task_table_reads_every_task_table(client: httpx.AsyncClient) -> None:
    await create(client)
    await create(client, "problem")
    await create(client, "change_request")
    response = await client.get(
        "/api/now/table/task", params={"sysparm_fields": "number,sys_class_name"}
    )
    classes = sorted(r["sys_class_name"] for r in response.json()["result"])
    assert classes == ["change_request", "incident", "problem"]


async def test_unknown_paths_and_methods(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/api/now/nothing")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"].startswith("Requested URI does not represent")
    wrong = await client.delete("/api/now/table/incident")
    assert wrong.status_code == 405
