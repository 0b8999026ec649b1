"""Tokenizer and recursive-descent parser for the fakejira JQL subset.

The parser only checks syntax and produces an immutable AST; field names, operators per
field and value formats are validated by :mod:`jql` so that, as in Jira, syntax errors are
reported before semantic ones. Error messages mimic Jira's wording, including the trailing
``(line L, character C)`` position (both 1-based).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "And",
    "Clause",
    "Empty",
    "Function",
    "JqlError",
    "ListValue",
    "Literal",
    "Node",
    "Not",
    "Operand",
    "Or",
    "Query",
    "SortKey",
    "parse",
]


class JqlError(Exception):
    """Invalid JQL. ``str(exc)`` is the message Jira would put in ``errorMessages``."""


@dataclass(frozen=True, slots=True)
class Literal:
    text: str
    quoted: bool
    pos: int


@dataclass(frozen=True, slots=True)
class Empty:
    pos: int


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    args: tuple[str, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class ListValue:
    items: tuple[Literal | Empty | Function, ...]
    pos: int


Operand = Literal | Empty | Function | ListValue


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    op: str  # one of = != ~ !~ > >= < <= "in" "not in" "is" "is not"
    operand: Operand
    pos: int


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Clause | Not | And | Or


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool
    pos: int


@dataclass(frozen=True, slots=True)
class Query:
    where: Node | None
    order_by: tuple[SortKey, ...]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word" | "string" | "op" | "(" | ")" | "," | "eof"
    text: str  # decoded text
    raw: str  # as written, for messages
    pos: int


_OPERATORS = ("!=", "!~", ">=", "<=", "&&", "||", "=", "~", ">", "<", "!", "&", "|")
_COMPARISONS = frozenset({"=", "!=", "~", "!~", ">", ">=", "<", "<="})
_STOP_CHARS = frozenset(" \t\r\n\f\v(),\"'=!<>~&|")
# Jira refuses these outside quotes; "-" and "+" stay legal so that -1d / +1d work bare.
_RESERVED_CHARS = frozenset(".;?*/%^$#@[]{}")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\", '"': '"', "'": "'", " ": " "}
_VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', "
    "'IS' and 'IS NOT'."
)
# Words with a grammatical role: Jira reports them as "Expecting ... but got 'OR'".
_KEYWORDS = frozenset("and or not in is empty null order by asc desc was changed cf".split())
# Jira's reserved-word list: usable only when quoted.
_RESERVED_WORDS = frozenset(
    """a an abort access add after alias all alter and any are as asc audit avg before begin
    between boolean break by byte catch cf char character check checkpoint collate collation
    column commit connect continue count create current date decimal declare decrement default
    defaults define delete delimiter desc difference distinct divide do double drop else empty
    encoding end equals escape exclusive exec execute exists explain false fetch file field
    first float for from function go goto grant greater group having identified if immediate
    in increment index initial inner inout input insert int integer intersect intersection
    into is isempty isnull join last left less like limit lock long max min minus mode modify
    modulo more multiply next noaudit not notin nowait null number object of on option or
    order outer output power previous prior privileges public raise raw remainder rename
    resource return returns revoke right row rowid rownum rows select session set share size
    sqrt start strict string subtract sum synonym table then to trans transaction trigger true
    uid union unique update user validate values view when whenever where while with""".split()
)


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"(line {line}, character {column})"


def _error(text: str, pos: int, message: str) -> JqlError:
    return JqlError(f"Error in the JQL Query: {message} {_where(text, pos)}")


def _escape(text: str, i: int) -> tuple[str, int]:
    """Decode the escape starting at the backslash ``text[i]``; return (char, next index)."""
    nxt = text[i + 1 : i + 2]
    if nxt in _ESCAPES:
        return _ESCAPES[nxt], i + 2
    if nxt == "u":
        digits = text[i + 2 : i + 6]
        if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
            return chr(int(digits, 16)), i + 6
    if nxt and (nxt in _STOP_CHARS or nxt in _RESERVED_CHARS):
        return nxt, i + 2
    raise _error(text, i, f"The escape sequence '\\{nxt}' is illegal.")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(_Token(ch, ch, ch, i))
            i += 1
        elif ch in "\"'":
            start, i, chars = i, i + 1, []
            while True:
                if i >= n:
                    raise _error(
                        text,
                        start,
                        f"The quoted string '{text[start + 1 :]}' has not been completed.",
                    )
                c = text[i]
                if c == ch:
                    i += 1
                    break
                if c == "\\":
                    decoded, i = _escape(text, i)
                    chars.append(decoded)
                else:
                    chars.append(c)
                    i += 1
            tokens.append(_Token("string", "".join(chars), text[start:i], start))
        elif ch in "!=<>~&|":
            op = next(o for o in _OPERATORS if text.startswith(o, i))
            tokens.append(_Token("op", op, op, i))
            i += len(op)
        else:
            start, chars = i, []
            while i < n and not (text[i].isspace() or text[i] in _STOP_CHARS):
                c = text[i]
                if c in _RESERVED_CHARS:
                    raise _error(
                        text,
                        i,
                        f"The character '{c}' is a reserved JQL character. You must enclose it "
                        f"in a string or use the escape '\\u{ord(c):04x}' instead.",
                    )
                if c == "\\":
                    decoded, i = _escape(text, i)
                    chars.append(decoded)
                else:
                    chars.append(c)
                    i += 1
            tokens.append(_Token("word", "".join(chars), text[start:i], start))
    tokens.append(_Token("eof", "", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_word(self, *words: str, offset: int = 0) -> bool:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return tok.kind == "word" and tok.text.lower() in words

    def is_and(self) -> bool:
        return self.is_word("and") or (self.tok.kind == "op" and self.tok.text in ("&", "&&"))

    def is_or(self) -> bool:
        return self.is_word("or") or (self.tok.kind == "op" and self.tok.text in ("|", "||"))

    def is_not(self) -> bool:
        return self.is_word("not") or (self.tok.kind == "op" and self.tok.text == "!")

    def expected(self, what: str, hint: str = "") -> JqlError:
        tok = self.tok
        if tok.kind == "eof":
            return JqlError(
                f"Error in the JQL Query: Expecting {what} before the end of the query.{hint}"
            )
        return _error(self.text, tok.pos, f"Expecting {what} but got '{tok.raw}'.{hint}")

    def reserved(self, tok: _Token) -> JqlError:
        return _error(
            self.text,
            tok.pos,
            f"'{tok.raw}' is a reserved JQL word. You must surround it in quotation marks "
            "to use it in a query.",
        )

    # -- grammar -------------------------------------------------------------------------
    def query(self) -> Query:
        where: Node | None = None
        if self.tok.kind != "eof" and not self.is_word("order"):
            where = self.or_expr()
        order_by: tuple[SortKey, ...] = ()
        if self.is_word("order"):
            order_by = self.order_by()
        if self.tok.kind != "eof":
            raise self.expected("either 'OR' or 'AND'" if where else "a field name")
        return Query(where, order_by)

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.is_or():
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.is_and():
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        if self.is_not():
            self.advance()
            return Not(self.not_expr())
        if self.tok.kind == "(":
            self.advance()
            node = self.or_expr()
            if self.tok.kind != ")":
                raise self.expected("either 'OR', 'AND' or ')'")
            self.advance()
            return node
        return self.clause()

    def field_name(self) -> tuple[str, int]:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return tok.text, tok.pos
        if tok.kind != "word" or tok.text.lower() in _KEYWORDS:
            raise self.expected("a field name")
        if tok.text.lower() in _RESERVED_WORDS:
            raise self.reserved(tok)
        self.advance()
        return tok.text, tok.pos

    def clause(self) -> Clause:
        field, pos = self.field_name()
        op = self.operator()
        return Clause(field, op, self.operand(), pos)

    def operator(self) -> str:
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARISONS:
            self.advance()
            return tok.text
        if self.is_word("in"):
            self.advance()
            return "in"
        if self.is_word("not") and self.is_word("in", offset=1):
            self.i += 2
            return "not in"
        if self.is_word("is"):
            self.advance()
            if self.is_word("not"):
                self.advance()
                return "is not"
            return "is"
        raise self.expected("operator", " " + _VALID_OPERATORS)

    def operand(self) -> Operand:
        tok = self.tok
        if tok.kind != "(":
            return self.single_operand()
        self.advance()
        items = [self.single_operand()]
        while self.tok.kind == ",":
            self.advance()
            items.append(self.single_operand())
        if self.tok.kind != ")":
            raise self.expected("either ',' or ')'")
        self.advance()
        return ListValue(tuple(items), tok.pos)

    def single_operand(self) -> Literal | Empty | Function:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return Literal(tok.text, True, tok.pos)
        if tok.kind == "word":
            lowered = tok.text.lower()
            if lowered in ("empty", "null"):
                self.advance()
                return Empty(tok.pos)
            if self.tokens[self.i + 1].kind == "(":
                return self.function()
            if lowered in _KEYWORDS:
                raise self.expected(
                    "either a value, list or function",
                    f" You must surround '{tok.raw}' in quotation marks to use it as a value.",
                )
            if lowered in _RESERVED_WORDS:
                raise self.reserved(tok)
            self.advance()
            return Literal(tok.text, False, tok.pos)
        raise self.expected("either a value, list or function")

    def function(self) -> Function:
        name_tok = self.advance()
        self.advance()  # "("
        args: list[str] = []
        while self.tok.kind != ")":
            if args:
                if self.tok.kind != ",":
                    raise self.expected("either ',' or ')'")
                self.advance()
            if self.tok.kind not in ("word", "string"):
                raise self.expected("a function argument")
            args.append(self.advance().text)
        self.advance()
        return Function(name_tok.text, tuple(args), name_tok.pos)

    def order_by(self) -> tuple[SortKey, ...]:
        self.advance()
        if not self.is_word("by"):
            raise self.expected("'BY'")
        self.advance()
        keys: list[SortKey] = []
        while True:
            field, pos = self.field_name()
            descending = False
            if self.is_word("asc", "desc"):
                descending = self.advance().text.lower() == "desc"
            keys.append(SortKey(field, descending, pos))
            if self.tok.kind != ",":
                break
            self.advance()
        if self.tok.kind != "eof":
            raise self.expected("either ',', 'ASC', 'DESC' or the end of the query")
        return tuple(keys)


def parse(text: str) -> Query:
    """Parse JQL text into a :class:`Query`; raise :class:`JqlError` on a syntax error."""
    return _Parser(text).query()
