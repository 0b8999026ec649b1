"""Encoded queries (``sysparm_query``): parsing and evaluation against stored records.

Grammar: ``^NQ`` separates query blocks that are OR'ed; inside a block, ``^`` separates
AND'ed terms and a term starting with ``OR`` is OR'ed with the term before it (``OR`` binds
tighter than ``^``: ``a^b^ORc`` is ``a AND (b OR c)``). A term is ``<field><operator><value>``
(fields may dot-walk references: ``assigned_to.user_name=abel.tuter``), ``ORDERBY<field>`` or
``ORDERBYDESC<field>``; ``EQ`` and ``GROUPBY<field>`` are accepted and ignored. A literal ``^``
in a value is written ``^^``.

Operators: ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``LIKE``, ``NOT LIKE``, ``STARTSWITH``,
``ENDSWITH``, ``IN``, ``NOT IN`` (comma lists), ``ISEMPTY``, ``ISNOTEMPTY``, ``EMPTYSTRING``,
``ANYTHING``, ``BETWEEN`` (``low@high``), ``SAMEAS``/``NSAMEAS`` (another field), and the
aliases pysnc documents for ``add_query``: ``CONTAINS`` (``LIKE``), ``DOES NOT CONTAIN``
(``NOT LIKE``), ``INSTANCEOF`` (the class or, for ``task``, any task table). Text matching
is case-insensitive, as on ServiceNow's default database collation; integer and numeric choice
fields compare as numbers, date-times as ``YYYY-MM-DD HH:MM:SS`` (also
``javascript:gs.dateGenerate('date','time')``). The negative operators (``!=``, ``NOT LIKE``,
``NOT IN``) match empty values too.

A term naming an unknown field, or not parseable, is an *invalid part*: by default it is
ignored and the rest of the query applies, as on an instance; with the instance property
``glide.invalid_query.returns_no_rows=true`` the whole query matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .schema import BOOLEAN, DATETIME, INTEGER, TASK_TABLES, Column
from .values import as_boolean, query_date, to_number

OPERATORS = (
    "DOES NOT CONTAIN",
    "NOT LIKE",
    "NOT IN",
    "ISNOTEMPTY",
    "ISEMPTY",
    "EMPTYSTRING",
    "ANYTHING",
    "STARTSWITH",
    "ENDSWITH",
    "BETWEEN",
    "NSAMEAS",
    "SAMEAS",
    "INSTANCEOF",
    "CONTAINS",
    "LIKE",
    "IN",
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
)
UNARY = frozenset({"ISEMPTY", "ISNOTEMPTY", "EMPTYSTRING", "ANYTHING"})
_TERM = re.compile(
    r"^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)("
    + "|".join(re.escape(op) for op in OPERATORS)
    + r")(.*)$",
    re.DOTALL,
)
_ESCAPED_CARET = "\x00"


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str = ""

    def encode(self) -> str:
        return f"{self.field}{self.op}{self.value.replace('^', '^^')}"


@dataclass
class Query:
    """OR of blocks; a block is an AND of groups; a group is an OR of conditions."""

    blocks: list[list[list[Condition]]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    invalid: list[str] = field(default_factory=list)  # the ignored parts

    @property
    def empty(self) -> bool:
        return not any(self.blocks)


def split_terms(text: str) -> list[list[str]]:
    """``text`` as blocks of raw terms (``^^`` unescaped inside each term)."""
    protected = text.replace("^^", _ESCAPED_CARET)
    blocks = []
    for block in protected.split("^NQ"):
        blocks.append([t.replace(_ESCAPED_CARET, "^") for t in block.split("^")])
    return blocks


def parse_condition(term: str) -> Condition | None:
    found = _TERM.match(term)
    if found is None:
        return None
    name, op, value = found.groups()
    if op in UNARY and value:
        return None
    return Condition(name, op, value)


def parse(text: str, known: Callable[[str], bool] = lambda _name: True) -> Query:
    """Parse an encoded query; ``known(field path)`` says whether a field exists."""
    query = Query()
    for raw_block in split_terms(text or ""):
        block: list[list[Condition]] = []
        for term in raw_block:
            if not term or term in ("EQ",) or term.startswith("GROUPBY"):
                continue
            if term.startswith("ORDERBYDESC"):
                _order(query, term[len("ORDERBYDESC") :], True, known)
                continue
            if term.startswith("ORDERBY"):
                _order(query, term[len("ORDERBY") :], False, known)
                continue
            is_or = term.startswith("OR") and block and parse_condition(term[2:]) is not None
            condition = parse_condition(term[2:] if is_or else term)
            if condition is None or not known(condition.field):
                query.invalid.append(term)
                continue
            if condition.op in ("SAMEAS", "NSAMEAS") and not known(condition.value):
                query.invalid.append(term)
                continue
            if is_or:
                block[-1].append(condition)
            else:
                block.append([condition])
        if block:
            query.blocks.append(block)
    return query


def _order(query: Query, name: str, descending: bool, known: Callable[[str], bool]) -> None:
    if name and known(name):
        query.order.append((name, descending))
    elif name:
        query.invalid.append(("ORDERBYDESC" if descending else "ORDERBY") + name)


# -- evaluation ----------------------------------------------------------------------------
Resolver = Callable[[dict[str, str], str], tuple[str, Column | None]]


def _fold(text: str) -> str:
    return text.casefold()


def _normalise(value: str, column: Column | None) -> str:
    if column is None:
        return value
    if column.kind == DATETIME:
        return query_date(value)
    if column.kind == BOOLEAN:
        return as_boolean(value)
    return value


def _numeric(column: Column | None) -> bool:
    return column is not None and (column.kind == INTEGER or column.numeric)


def compare(left: str, right: str, column: Column | None) -> int:
    """-1/0/1 ordering of two raw values of ``column`` (numbers numerically, text folded)."""
    if _numeric(column):
        a, b = to_number(left), to_number(right)
        if a is not None and b is not None:
            return (a > b) - (a < b)
        if a is None and b is not None:
            return -1
        if b is None and a is not None:
            return 1
    fa, fb = _fold(left), _fold(right)
    return (fa > fb) - (fa < fb)


def _equals(actual: str, wanted: str, column: Column | None) -> bool:
    wanted = _normalise(wanted, column)
    if _numeric(column) and actual and wanted:
        return compare(actual, wanted, column) == 0
    return _fold(actual) == _fold(wanted)


def matches(condition: Condition, record: dict[str, str], resolve: Resolver) -> bool:
    actual, column = resolve(record, condition.field)
    op, value = condition.op, condition.value
    if op == "=":
        return _equals(actual, value, column)
    if op == "!=":
        return not actual or not _equals(actual, value, column)
    if op in (">", ">=", "<", "<="):
        if not actual:
            return False
        order = compare(actual, _normalise(value, column), column)
        return {">": order > 0, ">=": order >= 0, "<": order < 0, "<=": order <= 0}[op]
    if op in ("LIKE", "CONTAINS"):
        return bool(actual) and _fold(value) in _fold(actual)
    if op in ("NOT LIKE", "DOES NOT CONTAIN"):
        return not actual or _fold(value) not in _fold(actual)
    if op == "STARTSWITH":
        return bool(actual) and _fold(actual).startswith(_fold(value))
    if op == "ENDSWITH":
        return bool(actual) and _fold(actual).endswith(_fold(value))
    if op in ("IN", "NOT IN"):
        hit = any(_equals(actual, v, column) for v in value.split(","))
        return hit if op == "IN" else (not actual or not hit)
    if op in ("ISEMPTY", "EMPTYSTRING"):
        return actual == ""
    if op == "ISNOTEMPTY":
        return actual != ""
    if op == "ANYTHING":
        return True
    if op == "INSTANCEOF":
        return actual == value or (value == "task" and actual in TASK_TABLES)
    if op == "BETWEEN":
        low, _, high = value.partition("@")
        if not actual:
            return False
        return (
            compare(actual, _normalise(low, column), column) >= 0
            and compare(actual, _normalise(high, column), column) <= 0
        )
    if op in ("SAMEAS", "NSAMEAS"):
        other, _ = resolve(record, value)
        same = _fold(actual) == _fold(other)
        return same if op == "SAMEAS" else not same
    return False


def evaluate(query: Query, record: dict[str, str], resolve: Resolver) -> bool:
    if query.empty:
        return True
    return any(
        all(any(matches(c, record, resolve) for c in group) for group in block)
        for block in query.blocks
    )


def sort_key(column: Column | None) -> Callable[[str], tuple[int, float, str]]:
    """The key that orders raw values as :func:`compare` does (numbers before text in
    numeric columns, where empty and non-numeric values come first)."""
    numeric = _numeric(column)

    def key(value: str) -> tuple[int, float, str]:
        if numeric:
            number = to_number(value)
            if number is not None:
                return (1, number, "")
        return (0, 0.0, _fold(value))

    return key


def select(
    query: Query,
    records: Iterable[dict[str, str]],
    resolve: Resolver,
) -> list[dict[str, str]]:
    """The matching records, ordered by the query's ORDERBY terms (stable otherwise)."""
    found = [r for r in records if evaluate(query, r, resolve)]
    # One stable sort per term, last term first: the result is ordered by all terms.
    for name, descending in reversed(query.order):
        column = next((c for r in found if (c := resolve(r, name)[1]) is not None), None)
        key = sort_key(column)
        found.sort(key=lambda r: key(resolve(r, name)[0]), reverse=descending)
    return found


def from_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """The encoded query of the Table API's ``name=value`` filter parameters."""
    return "^".join(f"{name}={value.replace('^', '^^')}" for name, value in pairs)
