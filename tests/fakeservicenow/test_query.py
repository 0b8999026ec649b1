"""Encoded queries: the parser's forms and the evaluator against a plain-Python reference."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketbridge.fakeservicenow import Instance
from ticketbridge.fakeservicenow.query import Condition, evaluate, parse, split_terms

from .conftest import create


def test_or_binds_tighter_than_and_and_nq_starts_a_block() -> None:
    query = parse("active=true^state=1^ORstate=2^NQpriority=1^ORDERBYDESCnumber^ORDERBYsys_id")
    assert query.blocks == [
        [
            [Condition("active", "=", "true")],
            [Condition("state", "=", "1"), Condition("state", "=", "2")],
        ],
        [[Condition("priority", "=", "1")]],
    ]
    assert query.order == [("number", True), ("sys_id", False)]


def test_operators_are_recognised_longest_first() -> None:
    cases = {
        "short_descriptionNOT LIKEvpn": Condition("short_description", "NOT LIKE", "vpn"),
        "stateNOT IN7,8": Condition("state", "NOT IN", "7,8"),
        "stateIN1,2": Condition("state", "IN", "1,2"),
        "assigned_toISEMPTY": Condition("assigned_to", "ISEMPTY"),
        "assigned_toISNOTEMPTY": Condition("assigned_to", "ISNOTEMPTY"),
        "priority>=2": Condition("priority", ">=", "2"),
        "priority!=2": Condition("priority", "!=", "2"),
        "numberSTARTSWITHINC": Condition("number", "STARTSWITH", "INC"),
        "assigned_to.user_name=abel": Condition("assigned_to.user_name", "=", "abel"),
        "sys_class_nameINSTANCEOFtask": Condition("sys_class_name", "INSTANCEOF", "task"),
        "sys_created_onBETWEEN2024-01-01@2024-02-01": Condition(
            "sys_created_on", "BETWEEN", "2024-01-01@2024-02-01"
        ),
    }
    for text, expected in cases.items():
        assert parse(text).blocks == [[[expected]]], text


def test_escaped_caret_stays_in_the_value() -> None:
    assert parse("short_description=a^^b").blocks == [
        [[Condition("short_description", "=", "a^b")]]
    ]


def test_unknown_fields_and_garbage_are_invalid_parts() -> None:
    known = {"state", "number"}.__contains__
    query = parse("state=1^nope=2^just words^ORDERBYnonsense^EQ", known)
    assert query.blocks == [[[Condition("state", "=", "1")]]]
    assert query.invalid == ["nope=2", "just words", "ORDERBYnonsense"]


FIELDS = ("short_description", "category", "priority")
VALUES = {
    "short_description": ["", "VPN down", "vpn slow", "Printer jam", "mail"],
    "category": ["", "network", "software", "hardware"],
    "priority": ["1", "2", "3", "4", "5"],
}
TEXT_OPS = ("=", "!=", "LIKE", "NOT LIKE", "STARTSWITH", "ENDSWITH", "ISEMPTY", "ISNOTEMPTY")
NUMBER_OPS = ("=", "!=", ">", ">=", "<", "<=", "IN", "NOT IN")


def reference(condition: Condition, record: dict[str, str]) -> bool:
    """What each operator means, written independently of the emulator's evaluator."""
    actual, op, value = record[condition.field], condition.op, condition.value
    if condition.field == "priority":
        number = int(actual)
        if op in ("IN", "NOT IN"):
            hit = str(number) in value.split(",")
            return hit if op == "IN" else not hit
        target = int(value)
        return {
            "=": number == target,
            "!=": number != target,
            ">": number > target,
            ">=": number >= target,
            "<": number < target,
            "<=": number <= target,
        }[op]
    a, v = actual.lower(), value.lower()
    return {
        "=": a == v,
        "!=": a != v,
        "LIKE": bool(a) and v in a,
        "NOT LIKE": not a or v not in a,
        "STARTSWITH": bool(a) and a.startswith(v),
        "ENDSWITH": bool(a) and a.endswith(v),
        "ISEMPTY": a == "",
        "ISNOTEMPTY": a != "",
    }[op]


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(FIELDS))
    if field == "priority":
        op = draw(st.sampled_from(NUMBER_OPS))
        if op in ("IN", "NOT IN"):
            value = ",".join(
                draw(st.lists(st.sampled_from(VALUES["priority"]), min_size=1, max_size=3))
            )
        else:
            value = draw(st.sampled_from(VALUES["priority"]))
        return Condition(field, op, value)
    op = draw(st.sampled_from(TEXT_OPS))
    if op in ("ISEMPTY", "ISNOTEMPTY"):
        return Condition(field, op)
    return Condition(field, op, draw(st.sampled_from(["vpn", "VPN", "mail", "net", "p", "x"])))


blocks = st.lists(
    st.lists(st.lists(conditions(), min_size=1, max_size=3), min_size=1, max_size=3),
    min_size=1,
    max_size=3,
)
records = st.lists(
    st.fixed_dictionaries({f: st.sampled_from(VALUES[f]) for f in FIELDS}), min_size=1, max_size=8
)


def encode(structure: list[list[list[Condition]]]) -> str:
    return "^NQ".join(
        "^".join("^OR".join(c.encode() for c in group) for group in block) for block in structure
    )


@settings(max_examples=150, deadline=None)
@given(structure=blocks)
def test_encoding_round_trips(structure: list[list[list[Condition]]]) -> None:
    assert parse(encode(structure)).blocks == structure


@settings(max_examples=150, deadline=None)
@given(structure=blocks, rows=records)
def test_evaluation_matches_the_reference(
    structure: list[list[list[Condition]]], rows: list[dict[str, str]]
) -> None:
    from ticketbridge.fakeservicenow.schema import INCIDENT

    def resolve(record: dict[str, str], path: str) -> tuple[str, Any]:
        return record.get(path, ""), INCIDENT.columns.get(path)

    query = parse(encode(structure))
    for row in rows:
        expected = any(
            all(any(reference(c, row) for c in group) for group in block) for block in structure
        )
        assert evaluate(query, row, resolve) is expected, (encode(structure), row)


@given(st.text(alphabet="ab^NQOR=", max_size=30))
def test_parsing_never_raises(text: str) -> None:
    parse(text)
    split_terms(text)


async def _numbers(client: httpx.AsyncClient, query: str, **params: str) -> list[str]:
    response = await client.get(
        "/api/now/table/incident",
        params={"sysparm_query": query, "sysparm_fields": "number", **params},
    )
    assert response.status_code == 200, response.text
    return [r["number"] for r in response.json()["result"]]


async def test_orderby_sorts_numbers_numerically_and_ties_stably(
    client: httpx.AsyncClient,
) -> None:
    for escalation in ("10", "9", "2", "9"):
        await create(client, escalation=escalation)
    got = await _numbers(client, "ORDERBYescalation")
    assert got == ["INC0010003", "INC0010002", "INC0010004", "INC0010001"]
    by_desc = await _numbers(client, "ORDERBYDESCnumber")
    assert by_desc == ["INC0010004", "INC0010003", "INC0010002", "INC0010001"]


async def test_dates_compare_in_every_accepted_form(client: httpx.AsyncClient, clock: Any) -> None:
    await create(client)  # 2024-06-01 00:00:00
    clock.advance(86_400)
    await create(client)  # 2024-06-02 00:00:00
    forms = [
        "sys_created_on>2024-06-01 12:00:00",
        "sys_created_on>javascript:gs.dateGenerate('2024-06-01','12:00:00')",
        'sys_created_on>javascript:gs.dateGenerate("2024-06-01 12:00:00")',
        "sys_created_onBETWEEN2024-06-01 12:00:00@2024-06-03 00:00:00",
        "sys_created_on>=2024-06-02",
    ]
    for form in forms:
        assert await _numbers(client, form) == ["INC0010002"], form


async def test_dot_walking_in_queries(client: httpx.AsyncClient, instance: Instance) -> None:
    integration = instance.user_by_name("integration")
    assert integration is not None
    await create(client, assigned_to=integration["sys_id"])
    await create(client)
    assert await _numbers(client, "assigned_to.user_name=integration") == ["INC0010001"]
    assert await _numbers(client, "assigned_toISEMPTY") == ["INC0010002"]


async def test_invalid_parts_are_ignored_unless_the_property_says_no_rows(
    client: httpx.AsyncClient,
) -> None:
    await create(client)
    assert await _numbers(client, "no_such_field=1") == ["INC0010001"]
    await client.put("/_fake/properties", json={"glide.invalid_query.returns_no_rows": True})
    assert await _numbers(client, "no_such_field=1") == []


async def test_name_value_pairs_filter_like_a_query(client: httpx.AsyncClient) -> None:
    await create(client, category="network")
    await create(client, category="software")
    response = await client.get(
        "/api/now/table/incident", params={"category": "software", "sysparm_fields": "number"}
    )
    assert [r["number"] for r in response.json()["result"]] == ["INC0010002"]


async def test_negative_operators_match_empty_values(client: httpx.AsyncClient) -> None:
    await create(client, category="network")
    await create(client, category="")
    assert await _numbers(client, "category!=network") == ["INC0010002"]
    assert await _numbers(client, "categoryNOT INnetwork,software") == ["INC0010002"]
