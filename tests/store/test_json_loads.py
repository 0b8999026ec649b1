"""store/session.json_loads (the SQLite engine's JSON column reader) reads what json.loads
reads, the same way, with orjson where orjson agrees."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ticketbridge.store.session import json_loads

values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(),
    ),
    lambda inner: st.one_of(st.lists(inner), st.dictionaries(st.text(), inner)),
    max_leaves=10,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(values)
def test_reads_what_json_loads_reads(value: Any) -> None:
    text = json.dumps(value)
    assert same(json_loads(text), json.loads(text))


def test_what_orjson_reads_differently_or_not_at_all() -> None:
    for text in ['{"a": 18446744073709551616}', "[NaN, Infinity]", '"\\ud800"', '{"a":1,"a":2}']:
        assert same(json_loads(text), json.loads(text)), text
    assert type(json_loads("123456789012345678901")) is int
