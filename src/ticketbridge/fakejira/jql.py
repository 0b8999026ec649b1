"""JQL engine of the fakejira emulator: compiles Jira Cloud's JQL subset to Python closures.

Supported subset (keywords, field names and function names are case-insensitive):

* Combinators ``AND`` (``&``, ``&&``), ``OR`` (``|``, ``||``), ``NOT`` / ``!`` and
  parentheses; precedence NOT > AND > OR.
* Operators ``= != in (...) not in (...) ~ !~ > >= < <= is [not] EMPTY|NULL``. A field with
  no value never satisfies ``=``, ``!=``, ``in`` or ``not in`` (Jira: ``assignee != x``
  leaves out unassigned issues); ``= EMPTY`` and ``in (EMPTY, ...)`` select empty values.
  ``NOT (clause)`` is a plain negation and so does include empty values.
* Values: bare words, ``"..."`` / ``'...'`` strings with backslash escapes, lists, and the
  functions ``currentUser()``, ``now()``, ``startOfDay([inc])``, ``endOfDay([inc])`` (UTC;
  ``inc`` like ``-1``, ``+2d``, ``-3h``). Jira's reserved words and characters must be quoted.
* Fields: ``project`` (key, id or name), ``key``/``issuekey``/``issue``/``id`` (key or
  numeric id; ``>``/``<`` with a key compare issue numbers within that key's project),
  ``status``, ``issuetype``/``type``, ``priority``, ``resolution`` (name or id;
  ``Unresolved`` means empty), ``statusCategory`` (key, name or id), ``assignee``/``reporter``
  (accountId or ``currentUser()``), ``labels`` (``=`` means contains), ``parent`` (key or id),
  ``summary``/``description``/``text`` (``~`` only), ``created``/``createdDate``,
  ``updated``/``updatedDate``, ``duedate``/``due``. Names and keys match case-insensitively.
  Values are not checked against existing data: an unknown project or status matches
  nothing, where Jira would answer "The value 'X' does not exist for the field 'project'."
* ``~`` is a word search: every query word must occur as a whole word (or as a prefix when
  written ``word*``) in the field; English stop words are ignored and there is no stemming.
  ``~ EMPTY`` / ``!~ EMPTY`` mean ``is EMPTY`` / ``is not EMPTY``.
* Dates: ``"yyyy/MM/dd HH:mm"``, ``"yyyy-MM-dd HH:mm"``, ``"yyyy/MM/dd"``, ``"yyyy-MM-dd"``
  (UTC), periods relative to now such as ``-15m``, ``-1d``, ``"-4w 2d"``, ``+1h``,
  ``"-90minutes"``, or an integer of epoch milliseconds. A due date is compared as midnight
  UTC of its day.
* ``ORDER BY field [ASC|DESC], ...`` (ASC by default). ``priority`` sorts by numeric id,
  ``project`` by name, ``status``/``issuetype``/``resolution``/``summary`` by folded name,
  ``statusCategory`` as To Do < In Progress < Done, users by accountId, ``key`` by project
  then number. Empty values sort last ascending (first descending); ties are broken by
  ascending issue id. Without ORDER BY the order is ``created DESC``.
* Errors are checked in Jira's order: syntax, operator against operand (e.g. ``in`` needs a
  list), field name, operator supported by the field, then values (dates, keys, functions).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .jql_parser import And, Clause, Empty, Function, JqlError, ListValue, Literal, Node, Not, parse
from .jql_values import (
    DIGITS,
    ISSUE_KEY,
    SORTERS,
    Doc,
    Tokens,
    category_tokens,
    check_arity,
    check_function,
    date_getter,
    date_value,
    display,
    key_order,
    key_tokens,
    label_tokens,
    named_tokens,
    parent_tokens,
    project_tokens,
    text_getter,
    text_matcher,
    user_tokens,
)

__all__ = ["CompiledJql", "JqlContext", "JqlError", "compile_jql"]

Pred = Callable[[Doc], bool]


@dataclass(frozen=True)
class JqlContext:
    now_ms: int  # "now" in epoch milliseconds (UTC)
    current_account_id: str | None  # for currentUser(); None means anonymous


Binder = Callable[[JqlContext], Pred]

_EQ = frozenset({"=", "!=", "in", "not in"})
_IS = frozenset({"is", "is not"})
_CMP = frozenset({">", ">=", "<", "<="})
_TXT = frozenset({"~", "!~"})
_CMP_FUNCS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _always(doc: Doc) -> bool:
    return True


@dataclass(frozen=True)
class _Field:
    name: str  # canonical (Jira field id)
    kind: str  # "member" | "text" | "date"
    ops: frozenset[str]
    tokens: Tokens | None = None
    fold: bool = True  # whether literal values match case-insensitively
    issue_key: bool = False  # literals must be issue keys or ids
    unresolved: bool = False  # the literal "Unresolved" means EMPTY


def _fields() -> dict[str, _Field]:
    member = _EQ | _IS
    key = {"issue_key": True}
    unres = {"unresolved": True}
    specs = [
        (("project",), _Field("project", "member", member, project_tokens)),
        (("key", "issuekey", "issue"), _Field("key", "member", _EQ | _CMP, key_tokens, **key)),
        (("id",), _Field("id", "member", _EQ | _CMP, key_tokens, **key)),
        (("status",), _Field("status", "member", member, named_tokens("status"))),
        (("statuscategory",), _Field("statusCategory", "member", member, category_tokens)),
        (
            ("resolution",),
            _Field("resolution", "member", member, named_tokens("resolution"), **unres),
        ),
        (("assignee",), _Field("assignee", "member", member, user_tokens("assignee"), fold=False)),
        (("reporter",), _Field("reporter", "member", member, user_tokens("reporter"), fold=False)),
        (("labels",), _Field("labels", "member", member, label_tokens)),
        (("issuetype", "type"), _Field("issuetype", "member", member, named_tokens("issuetype"))),
        (("priority",), _Field("priority", "member", member, named_tokens("priority"))),
        (("parent",), _Field("parent", "member", member, parent_tokens, **key)),
        (("summary",), _Field("summary", "text", _TXT | _IS)),
        (("description",), _Field("description", "text", _TXT | _IS)),
        (("text",), _Field("text", "text", _TXT)),
        (("created", "createddate"), _Field("created", "date", _EQ | _IS | _CMP)),
        (("updated", "updateddate"), _Field("updated", "date", _EQ | _IS | _CMP)),
        (("duedate", "due"), _Field("duedate", "date", _EQ | _IS | _CMP)),
    ]
    return {alias: spec for aliases, spec in specs for alias in aliases}


_FIELDS = _fields()


def _field(name: str) -> _Field:
    spec = _FIELDS.get(name.lower())
    if spec is None:
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
    return spec


# -- clauses -------------------------------------------------------------------------------
def _static(pred: Pred) -> Binder:
    return lambda ctx: pred


def _emptiness(get: Callable[[Doc], object], want_empty: bool) -> Pred:
    if want_empty:
        return lambda d: get(d) is None
    return lambda d: get(d) is not None


def _member_clause(spec: _Field, clause: Clause) -> Binder:
    assert spec.tokens is not None
    tokens = spec.tokens
    if clause.op in _IS:
        return _static(_emptiness(tokens, clause.op == "is"))
    op, operand = clause.op, clause.operand
    if op in _CMP:
        return _static(_key_compare(clause))
    items = operand.items if isinstance(operand, ListValue) else (operand,)
    static: set[str] = set()
    dynamic = False
    has_empty = False
    for item in items:
        if isinstance(item, Empty):
            has_empty = True
        elif isinstance(item, Function):
            allowed = frozenset({"currentuser"} if spec.name in ("assignee", "reporter") else ())
            check_function(item, clause.field, allowed)
            check_arity(item, 0, 0)
            dynamic = True
        elif spec.unresolved and item.text.casefold() == "unresolved":
            has_empty = True
        else:
            text = item.text.strip() if spec.issue_key else item.text
            if spec.issue_key and not (DIGITS.fullmatch(text) or ISSUE_KEY.fullmatch(text)):
                raise _bad_key(item.text, clause.field)
            static.add(text.casefold() if spec.fold else text)
    positive = op in ("=", "in")

    def build(values: frozenset[str]) -> Pred:
        if positive:

            def pred(d: Doc) -> bool:
                t = tokens(d)
                return has_empty if t is None else not values.isdisjoint(t)

            return pred

        def neg(d: Doc) -> bool:
            t = tokens(d)
            return t is not None and values.isdisjoint(t)

        return neg

    if not dynamic:
        return _static(build(frozenset(static)))

    def bind(ctx: JqlContext) -> Pred:
        user = ctx.current_account_id
        return build(frozenset(static if user is None else static | {user}))

    return bind


def _bad_key(text: str, field: str) -> JqlError:
    return JqlError(f"The issue key '{text}' for field '{field}' is invalid.")


def _misused(clause: Clause, what: str, value: str = "") -> JqlError:
    shown = f" '{value}'" if value else ""
    return JqlError(
        f"Operator '{clause.op}' does not support {what}{shown} for field '{clause.field}'."
    )


def _key_compare(clause: Clause) -> Pred:
    operand, cmp = clause.operand, _CMP_FUNCS[clause.op]
    if isinstance(operand, Function):
        check_function(operand, clause.field, frozenset())
    # Operator-usage validation has already refused EMPTY and lists with comparisons.
    assert isinstance(operand, Literal)
    text = operand.text.strip()
    if DIGITS.fullmatch(text):
        target_id = int(text)
        return lambda d: cmp(d["id"], target_id)
    if not ISSUE_KEY.fullmatch(text):
        raise _bad_key(operand.text, clause.field)
    project, number = key_order(text)

    def pred(d: Doc) -> bool:
        doc_project, doc_number = key_order(d["key"])
        return doc_project == project and cmp(doc_number, number)

    return pred


def _date_clause(spec: _Field, clause: Clause) -> Binder:
    get = date_getter(spec.name)
    op, operand = clause.op, clause.operand
    if op in _IS or isinstance(operand, Empty):
        return _static(_emptiness(get, op in ("is", "=")))
    if isinstance(operand, ListValue) or op in ("in", "not in"):
        items = operand.items if isinstance(operand, ListValue) else (operand,)
        has_empty = any(isinstance(i, Empty) for i in items)
        values = [date_value(i, clause.field) for i in items if not isinstance(i, Empty)]
        positive = op == "in"

        def bind_list(ctx: JqlContext) -> Pred:
            targets = frozenset(v(ctx.now_ms) for v in values)

            def pred(d: Doc) -> bool:
                v = get(d)
                if v is None:
                    return has_empty and positive
                return (v in targets) is positive

            return pred

        return bind_list
    value, cmp = date_value(operand, clause.field), _CMP_FUNCS[op]

    def bind(ctx: JqlContext) -> Pred:
        target = value(ctx.now_ms)

        def pred(d: Doc) -> bool:
            v = get(d)
            return v is not None and cmp(v, target)

        return pred

    return bind


def _text_clause(spec: _Field, clause: Clause) -> Binder:
    get = text_getter(spec.name)
    operand = clause.operand
    if isinstance(operand, Empty):  # "~ EMPTY" is Jira's other spelling of "is EMPTY"
        want_empty = clause.op in ("is", "~")
        return _static(lambda d: (not get(d)) is want_empty)
    if isinstance(operand, Function):
        check_function(operand, clause.field, frozenset())
    assert isinstance(operand, Literal)
    match = text_matcher(operand.text, clause.field)
    if clause.op == "~":
        return _static(lambda d: match(get(d)))
    return _static(lambda d: not match(get(d)))


def _check_operator_usage(clause: Clause) -> None:
    """Jira validates operator against operand shape before it even looks at the field."""
    op, operand = clause.op, clause.operand
    if isinstance(operand, Empty) and op in _CMP | {"in", "not in"}:
        raise _misused(clause, "the empty value representation 'EMPTY'")
    if op in _IS and not isinstance(operand, Empty):
        raise _misused(clause, "searching for non-empty values")
    if op in ("in", "not in") and not isinstance(operand, ListValue):
        raise _misused(clause, "the non-list value", display(operand))
    if op not in ("in", "not in") and isinstance(operand, ListValue):
        raise _misused(clause, "the list value", display(operand))


def _compile_clause(clause: Clause) -> Binder:
    _check_operator_usage(clause)
    spec = _field(clause.field)
    if clause.op not in spec.ops:
        raise JqlError(
            f"The operator '{clause.op}' is not supported by the '{clause.field}' field."
        )
    if spec.kind == "date":
        return _date_clause(spec, clause)
    if spec.kind == "text":
        return _text_clause(spec, clause)
    return _member_clause(spec, clause)


def _both(a: Pred, b: Pred) -> Pred:
    return lambda d: a(d) and b(d)


def _either(a: Pred, b: Pred) -> Pred:
    return lambda d: a(d) or b(d)


def _compile_node(node: Node) -> Binder:
    if isinstance(node, Clause):
        return _compile_clause(node)
    if isinstance(node, Not):
        inner = _compile_node(node.child)

        def bind_not(ctx: JqlContext) -> Pred:
            pred = inner(ctx)
            return lambda d: not pred(d)

        return bind_not
    children = [_compile_node(child) for child in node.children]
    combine = _both if isinstance(node, And) else _either

    def bind(ctx: JqlContext) -> Pred:
        preds = [child(ctx) for child in children]
        result = preds[-1]
        for pred in reversed(preds[:-1]):
            result = combine(pred, result)
        return result

    return bind


# -- ordering ------------------------------------------------------------------------------
def _invert(value: Any) -> Any:
    """Map a value so that ascending order of the result is descending order of the input."""
    if isinstance(value, str):
        # Appending 1 (above every negated code point) makes a longer string sort first.
        return (*(-ord(c) for c in value), 1)
    if isinstance(value, tuple):
        return tuple(_invert(v) for v in value)
    return -value


def _sort_key_fn(keys: tuple[tuple[Callable[[Doc], Any], bool], ...]) -> Callable[[Doc], Any]:
    def key(d: Doc) -> tuple[Any, ...]:
        parts: list[Any] = []
        for get, descending in keys:
            v = get(d)
            if descending:
                parts.append((0,) if v is None else (1, _invert(v)))
            else:
                parts.append((1,) if v is None else (0, v))
        parts.append(d["id"])
        return tuple(parts)

    return key


class CompiledJql:
    """A compiled query: ``matches`` filters, ``sort_key`` orders (a total order)."""

    __slots__ = ("jql", "order_by", "has_where", "_bind", "_bound", "_sort_key")

    def __init__(
        self,
        jql: str,
        order_by: tuple[tuple[str, bool], ...],
        has_where: bool,
        bind: Binder,
        sort_key: Callable[[Doc], Any],
    ) -> None:
        self.jql = jql
        self.order_by = order_by  # explicit ORDER BY as (canonical field, descending); may be ()
        self.has_where = has_where
        self._bind = bind
        # One (context, predicate) pair, swapped atomically so that threads sharing this
        # cached object never pair a predicate with another request's context.
        self._bound: tuple[JqlContext | None, Pred] = (None, _always)
        self._sort_key = sort_key

    def predicate(self, ctx: JqlContext) -> Callable[[Doc], bool]:
        """The filter bound to ``ctx``; calling it is equivalent to ``matches(doc, ctx)``."""
        bound = self._bound
        if bound[0] is not ctx:
            bound = (ctx, self._bind(ctx))
            self._bound = bound
        return bound[1]

    def matches(self, doc: Doc, ctx: JqlContext) -> bool:
        return self.predicate(ctx)(doc)

    def sort_key(self, doc: Doc) -> Any:
        return self._sort_key(doc)

    def __repr__(self) -> str:
        return f"CompiledJql({self.jql!r})"


@functools.lru_cache(maxsize=512)
def compile_jql(text: str) -> CompiledJql:
    """Compile JQL text; raise :class:`JqlError` with Jira's message when it is invalid.

    Empty or blank text matches every issue. Without ORDER BY, ``sort_key`` orders by
    ``created DESC``; every ordering ends with ascending issue id so it is total.
    """
    query = parse(text)
    bind = _compile_node(query.where) if query.where is not None else _static(_always)
    order_by: list[tuple[str, bool]] = []
    for sk in query.order_by:
        spec = _field(sk.field)
        if spec.name not in SORTERS:
            raise JqlError(f"Field '{sk.field}' does not support sorting.")
        order_by.append((spec.name, sk.descending))
    effective = order_by or [("created", True)]
    sort_key = _sort_key_fn(tuple((SORTERS[name], desc) for name, desc in effective))
    return CompiledJql(text, tuple(order_by), query.where is not None, bind, sort_key)
