"""ADF -> Markdown and plain text. The contract is in ``adf.py``.

Inline content is rendered line by line (a line ends at a hardBreak) as a list of
segments. Escaping is deliberately minimal so ordinary prose survives unchanged, but
anything markdown would read as syntax gets a backslash, so re-parsing gives the same ADF.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .adf_parse import MENTION_SCHEME, find_urls

Node = Mapping[str, Any]

_PUNCT = frozenset(string.punctuation)
_DELIMS = {"strike": "~~", "strong": "**", "em": "*"}
_ORDER = tuple(_DELIMS)  # tie-break: outermost first
_LISTS = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})
_INLINE = frozenset(
    {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "mediaInline"}
    | {"placeholder", "inlineExtension"}
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_AUTOLINK = re.compile(r"[^\s<>]*[:@][^\s<>]*>")
# Block syntax that only counts at the start of a line.
_LINE_START = re.compile(
    r"#{1,6}(?=[ \t]|$)|>|[-+](?=[ \t]|$)|=+[ \t]*$|[-|:][-|: \t]*$|\[[^\]]*\]:"
)
_ORDERED_START = re.compile(r"(\d{1,9})([.)])(?=[ \t]|$)")
_HEADING_TAIL = re.compile(r"(^|[ \t])(#+)[ \t]*$")


class _Seg(NamedTuple):
    text: str
    emph: frozenset[str] = frozenset()
    code: bool = False
    href: str | None = None
    raw: bool = False  # already markdown (mentions); never escaped


Line = list[_Seg | None]  # None is a hard break


# ---------------------------------------------------------------- tolerant accessors


def _nodes(value: Any) -> list[Node]:
    return [n for n in value if isinstance(n, Mapping)] if isinstance(value, list) else []


def _attrs(node: Node) -> Mapping[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, Mapping) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _is_inline(node: Node) -> bool:
    return node.get("type") in _INLINE or ("text" in node and "content" not in node)


def _runs(children: Sequence[Node]) -> list[Node]:
    """Wrap stray inline nodes among blocks in paragraphs so nothing is dropped."""
    out: list[Node] = []
    for child in children:
        if not _is_inline(child):
            out.append(child)
        elif out and out[-1].get("_wrapped"):
            out[-1]["content"].append(child)
        else:
            out.append({"type": "paragraph", "content": [child], "_wrapped": True})
    return out


def _date(value: Any) -> str:
    try:
        return datetime.fromtimestamp(int(_str(value)) / 1000, tz=UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return _str(value)


def _card_url(node: Node) -> str:
    attrs = _attrs(node)
    data = attrs.get("data")
    return _str(attrs.get("url") or (data.get("url") if isinstance(data, Mapping) else ""))


def leaf_text(node: Node) -> str | None:
    """Text of an atom node, or None for containers to recurse into."""
    kind, attrs = node.get("type"), _attrs(node)
    if kind == "text":
        return _str(node.get("text"))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        name = _str(attrs.get("text") or attrs.get("id"))
        return name if name.startswith("@") else "@" + name
    if kind == "emoji":
        return _str(attrs.get("text") or attrs.get("shortName"))
    if kind == "date":
        return _date(attrs.get("timestamp"))
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return _card_url(node)
    if kind in ("media", "mediaInline"):
        if attrs.get("type") == "external" and attrs.get("url"):
            return _str(attrs["url"])
        alt = _str(attrs.get("alt"))
        return f"[attachment: {alt}]" if alt else "[attachment]"
    if isinstance(node.get("content"), list):
        return None
    return _str(attrs.get("text") or attrs.get("url") or node.get("text"))


# ---------------------------------------------------------------- inline rendering


def _segments(nodes: Sequence[Node], out: list[_Seg | None]) -> list[_Seg | None]:
    """Flatten inline ADF into segments; None marks a line break."""
    for node in nodes:
        kind = node.get("type")
        if kind == "hardBreak":
            out.append(None)
        elif kind == "mention":
            attrs = _attrs(node)
            name = _str(attrs.get("text") or attrs.get("id"))
            name = name[1:] if name.startswith("@") else name
            dest = _dest(MENTION_SCHEME + _str(attrs.get("id")))
            out.append(_Seg(f"@[{_escape(name, in_link=True)}]({dest})", raw=True))
        elif kind in ("text", "inlineCard") or leaf_text(node) is not None:
            marks = {_str(m.get("type")): m for m in _nodes(node.get("marks"))}
            link = marks.get("link")
            href = _str(_attrs(link).get("href")) if link is not None else None
            text = _str(leaf_text(node))
            if kind == "inlineCard":
                href = text
            emph = frozenset(marks) & set(_DELIMS)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            for i, part in enumerate(text.split("\n")):
                if i:
                    out.append(None)
                if part:
                    out.append(_Seg(part, emph, "code" in marks, href))
        else:
            _segments(_nodes(node.get("content")), out)
    return out


def _lines(nodes: Sequence[Node], *, single: bool = False) -> list[str]:
    segs = _segments(nodes, [])
    if single:  # headings and table cells are one line in markdown
        segs = [_Seg(" ") if s is None else s for s in segs]
    lines: list[list[_Seg]] = [[]]
    for seg in segs:
        if seg is None:
            lines.append([])
        elif lines[-1] and not seg.raw and lines[-1][-1]._replace(text="") == seg._replace(text=""):
            lines[-1][-1] = seg._replace(text=lines[-1][-1].text + seg.text)
        else:
            lines[-1].append(seg)
    # Mirror markdown-it's whitespace rules: a paragraph is stripped as a whole and each
    # continuation line loses its leading blanks.
    for k, line in enumerate(lines):
        _strip(line, 0, None if k == 0 else " \t")
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return []
    _strip(lines[-1], -1, None)
    flat: Line = [seg for k, line in enumerate(lines) for seg in [None][: bool(k)] + line]
    rendered = _render(flat, start=not single, cell=single)
    rendered[-1] = rendered[-1].rstrip(" \t")
    # A plain newline would drop trailing blanks (and an empty line would end the
    # paragraph); a backslash hard break keeps both.
    breaks = ["\\" if not ln or ln[-1] in " \t" else "" for ln in rendered[:-1]]
    return [ln + br for ln, br in zip(rendered, breaks, strict=False)] + rendered[-1:]


def _strip(line: list[_Seg], pos: int, chars: str | None) -> None:
    while line and not (line[pos].raw or line[pos].code or line[pos].emph or line[pos].href):
        seg = line[pos]
        text = seg.text.lstrip(chars) if pos == 0 else seg.text.rstrip(chars)
        if text:
            line[pos] = seg._replace(text=text)
            return
        del line[pos]


def _keys(seg: _Seg | None) -> frozenset[str]:
    """Marks a segment wants open; a link is keyed "@" + href so neighbours can differ."""
    if seg is None:
        return frozenset()
    return seg.emph | {"@" + seg.href} if seg.href is not None else seg.emph


def _render(line: Line, *, start: bool, cell: bool) -> list[str]:
    """Open and close marks as a stack over the segments, like ProseMirror's serializer."""
    done: list[str] = []
    out: list[str] = []
    stack: list[str] = []
    closer: dict[str, str] = {}
    keys = [_keys(seg) for seg in line]
    for i, seg in enumerate(line):  # a mark stays open across a break if both sides have it
        if seg is None:
            keys[i] = _keys(line[i - 1]) & _keys(line[i + 1] if i + 1 < len(line) else None)
    pending = ""
    for i, seg in enumerate(line):
        want, lead, core, trail = set(keys[i]), "", "", ""
        nxt = keys[i + 1] if i + 1 < len(line) else frozenset()
        if seg is None:
            want &= set(stack)
        elif not (seg.code or seg.raw):
            core = seg.text.strip()
            lead = seg.text[: len(seg.text) - len(seg.text.lstrip())] if core else seg.text
            trail = seg.text[len(seg.text.rstrip()) :] if core else ""
            if not core:  # never open emphasis around bare whitespace
                want = {m for m in want if m in stack or m[0] == "@"}
        else:
            # ADF forbids emphasis on mentions and code, yet markdown may nest them in it;
            # stay inside when closing would push trailing blanks out of the emphasis.
            want |= {m for m in stack if m[0] != "@" and (pending or m in nxt)}
        while any(m not in want for m in stack):
            mark = stack.pop()
            # Blanks may sit inside a link's brackets but never just inside an emphasis
            # delimiter: those only close when not preceded by whitespace.
            if mark[0] == "@":
                out.append(pending)
                pending = ""
            out.append(closer[mark])
        out.append(pending)
        pending = trail
        if seg is None:
            done.append("".join(out).lstrip(" \t"))
            out = []
            continue
        opening = sorted(want - set(stack), key=lambda m: (-_run(keys, i, m), _rank(m)))
        links = [k for k, m in enumerate(opening) if m[0] == "@"]
        if not links:
            out.append(lead)
        for k, mark in enumerate(opening):
            stack.append(mark)
            if mark[0] != "@":
                out.append(_DELIMS[mark])
                closer[mark] = _DELIMS[mark]
            elif _bare_ok(line, keys, i, cell):
                closer[mark] = ""
            else:
                out.append("[")
                closer[mark] = f"]({_dest(mark[1:])})"
            if links and k == links[-1]:
                out.append(lead)
        if seg.raw:
            out.append(seg.text)
        elif seg.code:
            out.append(_code_span(seg.text, cell))
        elif core:
            in_link = any(closer[m] for m in stack if m[0] == "@")
            final = i + 1 == len(line) or line[i + 1] is None
            text = _escape(core, final=final, in_link=in_link, cell=cell)
            at_start = start and not "".join(out).strip(" \t")
            out.append(_escape_line_start(text) if at_start else text)
    for mark in reversed(stack):
        if mark[0] == "@":
            out.append(pending)
            pending = ""
        out.append(closer[mark])
    out.append(pending)
    return [*done, "".join(out).lstrip(" \t")]


def _rank(mark: str) -> int:
    return _ORDER.index(mark) if mark in _ORDER else len(_ORDER)  # links innermost on ties


def _run(keys: list[frozenset[str]], i: int, mark: str) -> int:
    n = 0
    while i + n < len(keys) and mark in keys[i + n]:
        n += 1
    return n


def _bare_ok(line: Line, keys: list[frozenset[str]], i: int, cell: bool) -> bool:
    """A bare URL is only safe if re-parsing finds exactly the same URL, no more, no less."""
    seg = line[i]
    if seg is None or seg.code or seg.href != seg.text or _run(keys, i, "@" + seg.text) > 1:
        return False
    if _escape(seg.text, final=True, cell=cell) != seg.text:
        return False
    prev = line[i - 1] if i else None
    nxt = line[i + 1] if i + 1 < len(line) else None
    # Without brackets, an emphasis delimiter next to the URL might no longer flank.
    if not (_bare_side(seg, prev, -1) and _bare_side(seg, nxt, 0)):
        return False
    after = ""
    if nxt and nxt.emph == seg.emph and not nxt.code:  # nothing separates them
        after = nxt.text if nxt.raw or nxt.href is not None else _escape(nxt.text, cell=cell)
    return find_urls(seg.text + after)[:1] == [(0, len(seg.text))]


def _bare_side(seg: _Seg, other: _Seg | None, edge: int) -> bool:
    if other is None or other.emph == seg.emph:
        return True
    return not (other.code or other.raw) and other.text[edge].isspace()


def _escape(text: str, *, final: bool = False, in_link: bool = False, cell: bool = False) -> str:
    out = []
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else ""
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch == "\\":
            esc = not nxt or nxt in _PUNCT
        elif ch == "*":
            esc = not (prev.isspace() and nxt.isspace())
        elif ch == "_":  # intraword underscores never emphasise
            esc = not (prev.isalnum() and nxt.isalnum())
        elif ch == "~":  # strikethrough needs a run of two
            esc = prev in ("", "~") or nxt in ("", "~")
        elif ch in "[]":
            esc = in_link or (ch == "]" and nxt in ("(", "["))
        elif ch == "!":  # "![" would start an image
            esc = nxt == "[" or (not nxt and not final)
        elif ch == "<":
            esc = not nxt or bool(_AUTOLINK.match(text, i + 1))
        elif ch == "&":
            esc = bool(_ENTITY.match(text, i))
        else:
            esc = ch == "`" or (cell and ch == "|")
        out.append("\\" + ch if esc else ch)
    return "".join(out)


def _escape_line_start(text: str) -> str:
    if _LINE_START.match(text):
        return "\\" + text
    return _ORDERED_START.sub(r"\1\\\2", text, count=1)


def _code_span(text: str, cell: bool) -> str:
    if cell:  # GFM splits cells on pipes before it looks at code spans
        text = text.replace("|", "\\|")
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = text[0] == "`" or text[-1] == "`" or (text[0] == text[-1] == " " and text.strip())
    return f"{fence} {text} {fence}" if pad else f"{fence}{text}{fence}"


def _dest(href: str) -> str:
    href = href.replace("\n", "%0A").replace("\r", "%0D")
    depth = 0
    for ch in href:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth or re.search(r"[\s<>\\\x00-\x1f]", href):
        href = "<" + re.sub(r"([<>\\])", r"\\\1", href) + ">"
    return _ENTITY.sub(lambda m: "\\" + m.group(), href)


# ---------------------------------------------------------------- block rendering


def render_markdown(doc: Node) -> str:
    return _blocks(_runs(_nodes(doc.get("content"))))


def _blocks(children: Sequence[Node]) -> str:
    return "\n\n".join(md for _, md in _parts(children) if md)


def _parts(children: Sequence[Node]) -> list[tuple[Node, str]]:
    parts: list[tuple[Node, str]] = []
    alt = False
    for node in children:
        kind = node.get("type")
        # Two adjacent lists with the same marker would merge into one when re-read.
        same = bool(parts) and _family(parts[-1][0].get("type")) == _family(kind)
        alt = kind in _LISTS and same and not alt
        parts.append((node, _block(node, alt)))
    return parts


def _family(kind: Any) -> str | None:
    return None if kind not in _LISTS else "ordered" if kind == "orderedList" else "bullet"


def _block(node: Node, alt: bool) -> str:
    kind, attrs, content = node.get("type"), _attrs(node), _nodes(node.get("content"))
    if kind == "heading":
        level = attrs.get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 1
        text = _HEADING_TAIL.sub(r"\1\\\2", " ".join(_lines(content, single=True)))
        return ("#" * level + " " + text).rstrip()
    if kind in _LISTS:
        return _list(node, alt)
    if kind == "codeBlock":
        return _code_block(node)
    if kind in ("blockquote", "panel"):
        inner = _blocks(_runs(content))
        return "\n".join("> " + ln if ln else ">" for ln in inner.split("\n")) if inner else ""
    if kind == "rule":
        return "---"
    if kind == "table":
        return _table(content)
    if kind in ("blockCard", "embedCard"):
        return "\n".join(_lines([{**node, "type": "inlineCard"}]))
    if kind in ("media", "mediaSingle", "mediaGroup"):
        return " ".join(ln for media in content or [node] for ln in _lines([media]))
    if kind == "paragraph":
        return "\n".join(_lines(content))
    if "content" not in node and not _is_inline(node):
        return "\n".join(_lines([node]))  # unknown atom: keep whatever text it carries
    title = _str(attrs.get("title"))  # expand / nestedExpand
    return _blocks(_runs(([{"type": "text", "text": title}] if title else []) + content))


def _list(node: Node, alt: bool) -> str:
    ordered = node.get("type") == "orderedList"
    order = _attrs(node).get("order", 1)
    start = order if isinstance(order, int) and 0 <= order < 10**8 else 1
    items = []
    for n, item in enumerate(_nodes(node.get("content"))):
        marker = f"{start + n}{')' if alt else '.'} " if ordered else ("* " if alt else "- ")
        body = _item_body(item)
        if item.get("type") == "taskItem":
            body = ("[x] " if _attrs(item).get("state") == "DONE" else "[ ] ") + body
        first, *rest = body.split("\n")
        pad = " " * len(marker)
        items.append(
            "\n".join([(marker + first).rstrip(" ")] + [pad + ln if ln else "" for ln in rest])
        )
    return "\n".join(items)


def _item_body(item: Node) -> str:
    body: str | None = None
    for child, md in _parts(_runs(_nodes(item.get("content")))):
        if body is None or not md:
            body = md if body is None else body
        elif not body:
            body = "\n" + md  # on the marker line, "- - -" would read as a rule
        else:
            kind = child.get("type")
            # A fence or a list that may interrupt a paragraph stays tight; anything else
            # needs a blank line or it would be read as lazy continuation text.
            tight = kind == "codeBlock" or (kind in _LISTS and _interrupts(child, md))
            body += ("\n" if tight else "\n\n") + md
    return body or ""


def _interrupts(lst: Node, md: str) -> bool:
    """Can this list start right after a paragraph line (CommonMark 5.2)?"""
    marker, *text = md.split("\n", 1)[0].split(None, 1)
    return bool(text) and (lst.get("type") != "orderedList" or marker[:-1] == "1")


def _code_block(node: Node) -> str:
    code = "".join(_str(n.get("text")) for n in _nodes(node.get("content")))
    words = _str(_attrs(node).get("language")).split()
    lang = re.sub(r"([\\&])", r"\\\1", words[0]) if words else ""  # info strings unescape
    char = "~" if "`" in lang else "`"
    fence = char * max(3, max(map(len, re.findall(re.escape(char) + "+", code)), default=0) + 1)
    return f"{fence}{lang}\n{code}\n{fence}"


def _table(rows: Sequence[Node]) -> str:
    cells = [[_cell(c) for c in _nodes(row.get("content"))] for row in rows]
    width = max(map(len, cells), default=0)
    if not width:
        return ""
    lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in cells]
    lines.insert(1, "| " + " | ".join(["---"] * width) + " |")
    return "\n".join(lines)


def _cell(node: Node) -> str:
    """A GFM cell is a single line, so nested blocks are flattened to inline text."""
    content = _nodes(node.get("content"))
    if node.get("type") == "codeBlock":
        code = " ".join("".join(_str(n.get("text")) for n in content).split("\n"))
        return _code_span(code, True) if code.strip() else ""
    if not content or _is_inline(content[0]):
        return " ".join(_lines(content or [node], single=True))
    return " ".join(filter(None, map(_cell, _runs(content))))


# ---------------------------------------------------------------- plain text


def render_text(node: Node) -> str:
    text = leaf_text(node)
    if text is not None:
        return "" if node.get("type") in ("media", "mediaInline") else text
    kind, children = node.get("type"), _nodes(node.get("content"))
    if kind == "tableRow":
        return "\t".join(render_text(c).replace("\n", " ") for c in children)
    if kind in ("paragraph", "heading", "codeBlock") or all(map(_is_inline, children)):
        return "".join(map(render_text, children))
    return "\n".join(filter(None, map(render_text, _runs(children))))
