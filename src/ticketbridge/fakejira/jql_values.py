"""Values of the fakejira JQL engine: query operands (dates, periods, date functions, text
search terms) and the accessors that read the matching value out of a search document.

Operands are parsed once, when a query is compiled; what runs per document is only the
accessors and the closures returned here, which is why they avoid parsing and allocation.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .jql_parser import Empty, Function, JqlError, ListValue, Literal, Operand

__all__ = [
    "DIGITS",
    "ISSUE_KEY",
    "SORTERS",
    "Doc",
    "Tokens",
    "category_tokens",
    "check_arity",
    "check_function",
    "date_getter",
    "date_value",
    "display",
    "key_order",
    "key_tokens",
    "label_tokens",
    "named_tokens",
    "parent_tokens",
    "project_tokens",
    "text_getter",
    "text_matcher",
    "user_tokens",
]

Doc = Mapping[str, Any]
# A document's normalized identifiers for a field (id, folded name, ...); None when empty.
Tokens = Callable[[Doc], tuple[str, ...] | None]

_DAY = 86_400_000
_UNITS = {"w": 7 * _DAY, "d": _DAY, "h": 3_600_000, "m": 60_000}
# Jira also accepts spelled-out units such as "-100minutes".
_UNIT = r"(weeks?|w|days?|d|hours?|h|minutes?|m)"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
DIGITS = re.compile(r"[0-9]+")
ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+")
_PERIOD = re.compile(rf"([-+]?)\s*((?:[0-9]+\s*{_UNIT}\s*)+)")
_PERIOD_PART = re.compile(rf"([0-9]+)\s*{_UNIT}")
_ABSOLUTE = re.compile(r"([0-9]{4})([/-])([0-9]{1,2})\2([0-9]{1,2})(?:\s+([0-9]{1,2}):([0-9]{2}))?")
_WORD = re.compile(r"\w+")
_TERM_WORD = re.compile(r"\w+\*?")
_LEADING_WILDCARD = re.compile(r"(?:^|\s)[*?]")
# Lucene's English stop words, which Jira drops from text queries.
_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)
_CATEGORY_ORDER = {"new": 0, "indeterminate": 1, "done": 2}
_FUNCTIONS = frozenset({"currentuser", "now", "startofday", "endofday"})


# -- per-field accessors -------------------------------------------------------------------
def named_tokens(field: str) -> Tokens:
    def tokens(d: Doc) -> tuple[str, ...] | None:
        o = d[field]
        return None if o is None else (o["id"], o["name"].casefold())

    return tokens


def user_tokens(field: str) -> Tokens:
    def tokens(d: Doc) -> tuple[str, ...] | None:
        v = d[field]
        return None if v is None else (v,)

    return tokens


def project_tokens(d: Doc) -> tuple[str, ...] | None:
    p = d["project"]
    return (p["id"], p["key"].casefold(), p["name"].casefold())


def category_tokens(d: Doc) -> tuple[str, ...] | None:
    c = d["statusCategory"]
    return (str(c["id"]), c["key"].casefold(), c["name"].casefold())


def label_tokens(d: Doc) -> tuple[str, ...] | None:
    labels = d["labels"]
    return tuple(label.casefold() for label in labels) if labels else None


def key_tokens(d: Doc) -> tuple[str, ...] | None:
    return (str(d["id"]), d["key"].casefold())


def parent_tokens(d: Doc) -> tuple[str, ...] | None:
    p = d["parent"]
    return None if p is None else (str(p["id"]), p["key"].casefold())


def key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project.casefold(), int(number)


@functools.lru_cache(maxsize=8192)
def _due_ms(value: str) -> int:
    return (date.fromisoformat(value).toordinal() - date(1970, 1, 1).toordinal()) * _DAY


def date_getter(field: str) -> Callable[[Doc], int | None]:
    if field == "duedate":

        def due(d: Doc) -> int | None:
            v = d["duedate"]
            return None if v is None else _due_ms(v)

        return due
    return operator.itemgetter(field)


def text_getter(field: str) -> Callable[[Doc], str]:
    if field == "text":
        return lambda d: f"{d['summary'] or ''}\n{d['description_text'] or ''}"
    key = "description_text" if field == "description" else field
    return lambda d: d[key] or ""


def _name_sort(field: str) -> Callable[[Doc], Any]:
    return lambda d: None if d[field] is None else d[field]["name"].casefold()


def _priority_sort(d: Doc) -> Any:
    p = d["priority"]
    return int(p["id"]) if p is not None and str(p["id"]).isdigit() else None


SORTERS: dict[str, Callable[[Doc], Any]] = {
    "project": lambda d: (d["project"]["name"].casefold(), d["project"]["key"].casefold()),
    "key": lambda d: key_order(d["key"]),
    "id": operator.itemgetter("id"),
    "status": _name_sort("status"),
    "statusCategory": lambda d: _CATEGORY_ORDER.get(d["statusCategory"]["key"], 3),
    "resolution": _name_sort("resolution"),
    "assignee": operator.itemgetter("assignee"),
    "reporter": operator.itemgetter("reporter"),
    "labels": lambda d: "\0".join(sorted(x.casefold() for x in d["labels"])) or None,
    "issuetype": _name_sort("issuetype"),
    "priority": _priority_sort,
    "parent": lambda d: None if d["parent"] is None else key_order(d["parent"]["key"]),
    "summary": lambda d: (d["summary"] or "").casefold(),
    "created": operator.itemgetter("created"),
    "updated": operator.itemgetter("updated"),
    "duedate": operator.itemgetter("duedate"),
}


# -- values --------------------------------------------------------------------------------
def display(operand: Operand) -> str:
    """An operand as Jira prints it in messages: strings quoted, numbers and functions bare."""
    if isinstance(operand, Empty):
        return "EMPTY"
    if isinstance(operand, Function):
        return f"{operand.name}({', '.join(operand.args)})"
    if isinstance(operand, ListValue):
        return f"({', '.join(display(item) for item in operand.items)})"
    return operand.text if DIGITS.fullmatch(operand.text) else f'"{operand.text}"'


def check_arity(fn: Function, low: int, high: int) -> None:
    if not low <= len(fn.args) <= high:
        expected = f"'{high}'" if low == high else f"between '{low}' and '{high}'"
        raise JqlError(
            f"Function '{fn.name}' expected {expected} arguments but received '{len(fn.args)}'."
        )


def check_function(fn: Function, field: str, allowed: frozenset[str]) -> str:
    name = fn.name.lower()
    if name not in _FUNCTIONS:
        raise JqlError(f"Unable to find JQL function '{display(fn)}'.")
    if name not in allowed:
        raise JqlError(
            f"A value provided by the function '{fn.name}' is invalid for the field '{field}'."
        )
    return name


def _period_ms(text: str) -> int | None:
    m = _PERIOD.fullmatch(text.strip())
    if m is None:
        return None
    total = sum(int(n) * _UNITS[unit[0]] for n, unit in _PERIOD_PART.findall(m.group(2)))
    return -total if m.group(1) == "-" else total


def date_value(item: Literal | Function, field: str) -> Callable[[int], int]:
    """Compile a date operand to a function of now_ms, so relative values track the context."""
    if isinstance(item, Function):
        name = check_function(item, field, frozenset({"now", "startofday", "endofday"}))
        if name == "now":
            check_arity(item, 0, 0)
            return lambda now: now
        check_arity(item, 0, 1)
        arg = item.args[0].strip() if item.args else "0"
        inc = int(arg) * _DAY if re.fullmatch(r"[-+]?[0-9]+", arg) else _period_ms(arg)
        if inc is None:
            raise JqlError(f"Function '{item.name}' received an invalid increment '{arg}'.")
        end = _DAY - 1 if name == "endofday" else 0
        return lambda now: now - now % _DAY + end + inc
    text = item.text.strip()
    if DIGITS.fullmatch(text):
        epoch = int(text)
        return lambda now: epoch
    delta = _period_ms(text)
    if delta is not None:
        return lambda now: now + delta
    m = _ABSOLUTE.fullmatch(text)
    if m is not None:
        year, _, month, day, hour, minute = m.groups()
        try:
            moment = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=UTC
            )
        except ValueError:
            pass
        else:
            ms = (moment - _EPOCH) // _MS
            return lambda now: ms
    raise JqlError(
        f"Date value '{item.text}' for field '{field}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
        "format e.g. '-5d', '4w 2d'."
    )


def text_matcher(term: str, field: str) -> Callable[[str], bool]:
    if not term.strip():
        raise JqlError(f"The field '{field}' does not support searching for an empty string.")
    if _LEADING_WILDCARD.search(term):
        raise JqlError(
            f"The text query '{term}' for field '{field}' is not allowed to start with a wildcard."
        )
    words = _TERM_WORD.findall(term.casefold())
    exact = frozenset(w for w in words if not w.endswith("*") and w not in _STOPWORDS)
    prefixes = tuple(w[:-1] for w in words if w.endswith("*"))
    if not exact and not prefixes:
        return lambda text: False
    # Substring checks run in C and reject most documents before the text is tokenized.
    needles = tuple(exact) + prefixes

    def match(text: str) -> bool:
        folded = text.casefold()
        for needle in needles:
            if needle not in folded:
                return False
        present = set(_WORD.findall(folded))
        if not exact <= present:
            return False
        return all(any(w.startswith(p) for w in present) for p in prefixes)

    return match
