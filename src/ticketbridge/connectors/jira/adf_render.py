"""ADF inline content -> Markdown, plus tolerant accessors. The contract is in ``adf.py``.

Inline nodes are flattened to segments (text with its marks, or raw Markdown for
mentions; None for a hard break) and marks are opened and closed as a stack. Escaping is
deliberately minimal so ordinary prose survives unchanged, but anything Markdown would
read as syntax gets a backslash, so re-parsing gives the same ADF.

Most paragraphs are one line of plain text, mentions and singly-marked runs:
:func:`paragraph_line` renders those in one pass with the same output, and declines the
rest, which the segment renderer (:func:`inline_lines`) handles.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .adf_parse import MENTION_SCHEME, find_urls

Node = Mapping[str, Any]

_PUNCT = frozenset(string.punctuation)
_DELIMS = {"strike": "~~", "strong": "**", "em": "*"}
_ORDER = tuple(_DELIMS)  # tie-break: outermost first
INLINE_TYPES = frozenset(
    {"text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard", "mediaInline"}
    | {"placeholder", "inlineExtension"}
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_AUTOLINK = re.compile(r"[^\s<>]*[:@][^\s<>]*>")
# Block syntax that only counts at the start of a line.
_LINE_START = re.compile(r"#{1,6}(?=[ \t]|$)|>|[-+](?=[ \t]|$)|=+[ \t]*$|[-|:][-|: \t]*$")
# A paragraph that opens like "[label]:" (the label may span lines) is a link definition.
LINK_DEFINITION = re.compile(r"\[(?:[^\\\[\]]|\\.)*\]:", re.DOTALL)
_ORDERED_START = re.compile(r"(\d{1,9})([.)])(?=[ \t]|$)")
# Hot-path helpers, compiled once: these run for every text segment of every document.
# The only characters _escape may ever backslash; text without them is returned as is.
_SPECIAL = re.compile(r"[\\*_~\[\]!<&`|]")
_BACKTICKS = re.compile(r"`+")
_WHITESPACE = re.compile(r"\s")
_DEST_UNSAFE = re.compile(r"[\s<>\\\x00-\x1f]")
_DEST_QUOTE = re.compile(r"([<>\\])")
# A destination without these characters is written as it is (see _dest).
_DEST_SPECIAL = re.compile(r"[\s<>\\\x00-\x1f()&]").search
_SPECIAL_SEARCH = _SPECIAL.search  # for call sites that skip _escape when it has nothing to do
_EMPH_MARKS = frozenset(_DELIMS)
_NO_MARKS: frozenset[str] = frozenset()


class _Seg(NamedTuple):
    text: str
    emph: frozenset[str] = frozenset()
    code: bool = False
    href: str | None = None
    raw: bool = False  # already markdown (mentions); never escaped


Line = list[_Seg | None]  # None is a hard break


# ---------------------------------------------------------------- tolerant accessors


def child_nodes(value: Any) -> list[Node]:
    if not isinstance(value, list):
        return []
    # Parsed JSON is plain dicts: checking the exact type first skips the (much slower)
    # isinstance check against the Mapping ABC for nearly every node.
    return [n for n in value if type(n) is dict or isinstance(n, Mapping)]


def node_attrs(node: Node) -> Mapping[str, Any]:
    attrs = node.get("attrs")
    return attrs if type(attrs) is dict or isinstance(attrs, Mapping) else {}


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def is_inline(node: Node) -> bool:
    return node.get("type") in INLINE_TYPES or ("text" in node and "content" not in node)


def wrap_inline(children: Sequence[Node]) -> list[Node]:
    """Wrap stray inline nodes among blocks in paragraphs so nothing is dropped."""
    out: list[Node] = []
    for child in children:
        if not is_inline(child):
            out.append(child)
        elif out and out[-1].get("_wrapped"):
            out[-1]["content"].append(child)
        else:
            out.append({"type": "paragraph", "content": [child], "_wrapped": True})
    return out


def _date(value: Any) -> str:
    try:
        return datetime.fromtimestamp(int(as_str(value)) / 1000, tz=UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return as_str(value)


def _card_url(node: Node) -> str:
    attrs = node_attrs(node)
    data = attrs.get("data")
    return as_str(attrs.get("url") or (data.get("url") if isinstance(data, Mapping) else ""))


def leaf_text(node: Node) -> str | None:
    """Text of an atom node, or None for containers to recurse into."""
    kind, attrs = node.get("type"), node_attrs(node)
    if kind == "text":
        return as_str(node.get("text"))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        name = as_str(attrs.get("text") or attrs.get("id"))
        return name if name.startswith("@") else "@" + name
    if kind == "emoji":
        return as_str(attrs.get("text") or attrs.get("shortName"))
    if kind == "date":
        return _date(attrs.get("timestamp"))
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return _card_url(node)
    if kind in ("media", "mediaInline"):
        if attrs.get("type") == "external" and attrs.get("url"):
            return as_str(attrs["url"])
        alt = as_str(attrs.get("alt"))
        return f"[attachment: {alt}]" if alt else "[attachment]"
    if isinstance(node.get("content"), list):
        return None
    return as_str(attrs.get("text") or attrs.get("url") or node.get("text"))


# ---------------------------------------------------------------- inline rendering


def _segments(nodes: Sequence[Node], out: list[_Seg | None]) -> list[_Seg | None]:
    """Flatten inline ADF into segments; None marks a line break."""
    for node in nodes:
        kind = node.get("type")
        if kind == "hardBreak":
            out.append(None)
        elif kind == "mention":
            attrs = node_attrs(node)
            name = as_str(attrs.get("text") or attrs.get("id"))
            name = name[1:] if name.startswith("@") else name
            dest = _dest(MENTION_SCHEME + as_str(attrs.get("id")))
            out.append(_Seg(f"@[{_escape(name, in_link=True)}]({dest})", raw=True))
        # Plain text is by far the commonest node: read it directly, without leaf_text.
        elif (text := as_str(node.get("text")) if kind == "text" else leaf_text(node)) is not None:
            raw_marks = node.get("marks")
            if raw_marks:
                marks = {as_str(m.get("type")): m for m in child_nodes(raw_marks)}
                link = marks.get("link")
                href = as_str(node_attrs(link).get("href")) if link is not None else None
                emph = _EMPH_MARKS.intersection(marks) if marks else _NO_MARKS
                code = "code" in marks
            else:
                href, emph, code = None, _NO_MARKS, False
            if kind == "inlineCard":
                href = text
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            if "\n" not in text:
                if text:
                    out.append(_Seg(text, emph, code, href))
                continue
            for i, part in enumerate(text.split("\n")):
                if i:
                    out.append(None)
                if part:
                    out.append(_Seg(part, emph, code, href))
        else:
            _segments(child_nodes(node.get("content")), out)
    return out


_FAST_DELIMS = {"strong": "**", "em": "*", "strike": "~~"}
_FAST_SKIP = frozenset({"code", "link", *_FAST_DELIMS})  # marks that change the output


def paragraph_line(nodes: list[Any]) -> str | None:
    """A paragraph whose inline content is one line of plain text, mentions, emoji and
    text with at most one emphasis or link mark each, marked runs set apart by plain text:
    what ``"\n".join(inline_lines(nodes))`` gives, in one pass without segments or a mark
    stack. None for anything else (breaks, code, nested or adjacent marks, bare URLs,
    inline cards...): the general renderer decides those.

    It replays :func:`_render` for such a line: a marked run opens after the plain text
    before it and closes before the plain text after it, with its outer blanks outside an
    emphasis delimiter but inside a link's brackets; only a first visible run of plain
    text can start a block."""
    if len(nodes) == 1:  # the commonest paragraph (and list item): one unmarked text
        node = nodes[0]
        text = node.get("text") if type(node) is dict else None
        if (
            type(text) is str
            and node.get("type") == "text"
            and not node.get("marks")
            and "\n" not in text
            and "\r" not in text
        ):
            text = text.strip()
            if not text:
                return ""
            if _SPECIAL_SEARCH(text):
                text = _escape(text, final=True)
            text = _escape_line_start(text)
            if text[:1] == "[" and LINK_DEFINITION.match(text):
                return "\\" + text
            return text
    # Pass 1: merged runs as (delimiter, text): "" plain, "**"/"*"/"~~" emphasis,
    # "@"+href a link, None a mention (its text is already Markdown).
    runs: list[tuple[str | None, str]] = []
    for node in nodes:
        if type(node) is not dict:
            return None
        kind = node.get("type")
        if kind == "text":
            text = node.get("text")
            if type(text) is not str:
                return None
            key = ""
            marks = node.get("marks")
            if marks:
                if type(marks) is not list:
                    return None
                for mark in marks:
                    mtype = mark.get("type") if type(mark) is dict else None
                    if mtype not in _FAST_SKIP:
                        if type(mark) is not dict or type(mtype) is not str:
                            return None
                        continue  # underline, colours...: the text stays plain
                    if key or mtype == "code":
                        return None
                    if mtype == "link":
                        attrs = mark.get("attrs")
                        href = attrs.get("href") if type(attrs) is dict else None
                        if type(href) is not str or href == text:
                            return None  # a bare URL may go without brackets: general path
                        key = "@" + href
                    else:
                        key = _FAST_DELIMS[mtype]
        elif kind == "mention":
            attrs = node_attrs(node)
            name = as_str(attrs.get("text") or attrs.get("id"))
            name = name[1:] if name.startswith("@") else name
            dest = _dest(MENTION_SCHEME + as_str(attrs.get("id")))
            if _SPECIAL_SEARCH(name):
                name = _escape(name, in_link=True)
            runs.append((None, f"@[{name}]({dest})"))
            continue
        elif kind == "emoji" and not node.get("marks"):
            attrs = node_attrs(node)
            text, key = as_str(attrs.get("text") or attrs.get("shortName")), ""
        else:
            return None
        if not text:
            continue
        if "\n" in text or "\r" in text:
            return None
        if runs and runs[-1][0] == key:
            runs[-1] = (key, runs[-1][1] + text)
        else:
            runs.append((key, text))
    # Markdown strips a paragraph as a whole: blanks of plain runs at either end go.
    while runs and runs[0][0] == "":
        text = runs[0][1].lstrip()
        if text:
            runs[0] = ("", text)
            break
        del runs[0]
    while runs and runs[-1][0] == "":
        text = runs[-1][1].rstrip()
        if text:
            runs[-1] = ("", text)
            break
        del runs[-1]
    if not runs:
        return None  # nothing to render: let the general path say what that is
    # Pass 2: render.
    out: list[str] = []
    pending = ""  # blanks after the last run's chunk, placed once the next run is known
    closer, in_link = "", False  # the open mark, if any
    first = True  # no run with visible chunk yet (only the first can start a block)
    size = len(runs)
    previous: str | None = ""
    for i, (delim, chunk) in enumerate(runs):
        if delim and (previous or previous is None) or delim is None and previous:
            return None  # marked runs next to each other or to a mention: general path
        previous = delim
        if closer:
            if in_link and pending:
                out.append(pending)
                pending = ""
            out.append(closer)
            closer = ""
        if pending:
            out.append(pending)
        if delim is None:
            pending = ""
            out.append(chunk)
            first = False
            continue
        core = chunk.strip()
        if core is chunk:  # str.strip returns the string itself when there is nothing to strip
            lead = pending = ""
        elif not core:
            if delim:
                return None  # a mark around bare blanks: general path
            pending = chunk
            continue
        else:
            lead = chunk[: len(chunk) - len(chunk.lstrip())]
            pending = chunk[len(chunk.rstrip()) :]
        final = i + 1 == size
        if not delim:
            if lead:
                out.append(lead)
            esc = _escape(core, final=final) if _SPECIAL_SEARCH(core) else core
            if first and not any(x.strip(" \t") for x in out):
                esc = _escape_line_start(esc)
        elif delim[0] == "@":
            if delim[1:] == chunk:
                return None  # a bare URL may go without brackets: general path
            out.append("[" + lead)
            esc = _escape(core, final=final, in_link=True) if _SPECIAL_SEARCH(core) else core
            closer, in_link = f"]({_dest(delim[1:])})", True
        else:
            out.append(lead + delim)
            esc = _escape(core, final=final) if _SPECIAL_SEARCH(core) else core
            closer, in_link = delim, False
        first = False
        out.append(esc)
    if closer:
        if in_link and pending:
            out.append(pending)
            pending = ""
        out.append(closer)
    out.append(pending)
    line = "".join(out).strip(" \t")
    if line[:1] == "[" and LINK_DEFINITION.match(line):
        return "\\" + line
    return line


def inline_lines(nodes: Sequence[Node], *, single: bool = False, cell: bool = False) -> list[str]:
    """Markdown lines for inline content; ``single`` for one-line contexts, ``cell`` for GFM."""
    segs = _segments(nodes, [])
    if single:  # headings and table cells are one line in markdown
        segs = [_Seg(" ") if s is None else s for s in segs]
    lines: list[list[_Seg]] = [[]]
    for seg in segs:
        if seg is None:
            lines.append([])
        # Neighbours that differ only in text merge; comparing the tuple tails avoids
        # building two throwaway _Seg copies per segment.
        elif lines[-1] and not seg.raw and lines[-1][-1][1:] == seg[1:]:
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
    rendered = _render(flat, start=not single, cell=cell)
    rendered[-1] = rendered[-1].rstrip(" \t")
    # A plain newline would drop trailing blanks (and an empty line would end the
    # paragraph); a backslash hard break keeps both.
    out = rendered
    if len(rendered) > 1:  # most inline content is a single line: no breaks to add
        breaks = ["\\" if not ln or ln[-1] in " \t" else "" for ln in rendered[:-1]]
        out = [ln + br for ln, br in zip(rendered, breaks, strict=False)] + rendered[-1:]
    # A link definition starts with "[", so most paragraphs need no join and match.
    if not single and out[0][:1] == "[" and LINK_DEFINITION.match("\n".join(out)):
        out[0] = "\\" + out[0]
    return out


def _strip(line: list[_Seg], pos: int, chars: str | None) -> None:
    while line and not (line[pos].raw or line[pos].code or line[pos].emph or line[pos].href):
        seg = line[pos]
        text = seg.text.lstrip(chars) if pos == 0 else seg.text.rstrip(chars)
        if text:
            if text != seg.text:  # usually nothing to strip: keep the segment as it is
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
    if len(line) == 1 and line[0] is not None and not _has_marks(line[0]):
        return [_render_plain(line[0].text, start=start, cell=cell)]
    done: list[str] = []
    out: list[str] = []
    stack: list[str] = []
    closer: dict[str, str] = {}
    keys = [_keys(seg) for seg in line]
    spans: list[frozenset[str]] | None = None  # built when two marks open at once
    pending = ""
    seen, checked = False, 0  # whether this line has visible output yet, incrementally
    size = len(line)
    for i, seg in enumerate(line):
        want, lead, core, trail = set(keys[i]), "", "", ""
        nxt = keys[i + 1] if i + 1 < size else _NO_MARKS
        if seg is None:
            # Marks close at the end of a line unless that would push blanks out of them.
            after = line[i + 1] if i + 1 < size else None
            blank = after is not None and not after.code and after.text[:1].isspace()
            want = {m for m in stack if m[0] != "@" and (pending or blank)}
        elif not (seg.code or seg.raw):
            text = seg.text
            core = text.strip()
            lead = text[: len(text) - len(text.lstrip())] if core else ""
            trail = text[len(text.rstrip()) :] if core else text
            if not core:  # never open emphasis around bare whitespace
                want = {m for m in want if m in stack or m[0] == "@"}
        else:
            # ADF forbids emphasis on mentions and code, yet markdown may nest them in it:
            # stay inside, or open early, when the blanks next to them belong inside.
            after = line[i + 1] if i + 1 < size else None
            early = after is not None and not after.code and after.text[:1].isspace()
            tail = next((x for x in reversed(out) if x), " ")  # a closer needs text before it
            keep = pending or tail[-1].isspace()
            want |= {m for m in stack if m[0] != "@" and (keep or m in nxt)}
            want |= {m for m in nxt if m[0] != "@" and early}
        while stack and not want.issuperset(stack):
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
            out, seen, checked = [], False, 0
            continue
        new = want.difference(stack)
        if not new:
            opening: list[str] = []
        elif len(new) == 1:  # nothing to order
            opening = list(new)
        else:
            if spans is None:
                spans = _spans(line, keys)
            opening = sorted(new, key=lambda m: (-_run(spans, i, m), _rank(m)))
        links = [k for k, m in enumerate(opening) if m[0] == "@"] if opening else []
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
            out.append(code_span(seg.text, cell))
        elif core:
            in_link = bool(stack) and any(closer[m] for m in stack if m[0] == "@")
            final = i + 1 == size or line[i + 1] is None
            text = _escape(core, final=final, in_link=in_link, cell=cell)
            if start and not seen:  # only a line's first visible text can start a block
                seen = any(x.strip(" \t") for x in out[checked:])
                checked = len(out)
                if not seen:
                    text = _escape_line_start(text)
                    seen = True
            out.append(text)
    for mark in reversed(stack):
        if mark[0] == "@":
            out.append(pending)
            pending = ""
        out.append(closer[mark])
    out.append(pending)
    return [*done, "".join(out).lstrip(" \t")]


def _spans(line: Line, keys: list[frozenset[str]]) -> list[frozenset[str]]:
    """Each segment's marks for ordering openers: a break, mention or code span may sit
    inside emphasis that goes on around it; count it into that emphasis' run so the longer
    mark opens outside the shorter ones."""
    return [
        keys[i] | {m for m in keys[i - 1] & keys[i + 1] if m[0] != "@"}
        if 0 < i < len(line) - 1 and (seg is None or seg.raw or seg.code)
        else keys[i]
        for i, seg in enumerate(line)
    ]


def _has_marks(seg: _Seg) -> bool:
    return bool(seg.emph) or seg.href is not None or seg.code or seg.raw


def _render_plain(text: str, *, start: bool, cell: bool) -> str:
    """The commonest line, one unmarked segment: what :func:`_render`'s loop produces for
    it, without the mark-stack bookkeeping (no marks open, none to close)."""
    core = text.strip()
    if not core:
        return text.lstrip(" \t")
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    escaped = _escape(core, final=True, cell=cell)
    if start and not lead.strip(" \t"):  # nothing visible precedes it on the line
        escaped = _escape_line_start(escaped)
    return (lead + escaped + trail).lstrip(" \t")


def _rank(mark: str) -> int:
    # On ties a link goes outermost: its brackets are punctuation, which lets the
    # emphasis delimiters inside flank even in the middle of a word.
    return _ORDER.index(mark) if mark in _ORDER else -1


def _run(keys: list[frozenset[str]], i: int, mark: str) -> int:
    n = 0
    while i + n < len(keys) and mark in keys[i + n]:
        n += 1
    return n


def _bare_ok(line: Line, keys: list[frozenset[str]], i: int, cell: bool) -> bool:
    """A bare URL is only safe if re-parsing finds exactly the same URL, no more, no less."""
    seg = line[i]
    if seg is None or seg.code or seg.href != seg.text:
        return False
    if i + 1 < len(line) and line[i + 1] is not None and "@" + seg.href in keys[i + 1]:
        return False  # the link goes on into the next segment
    if _escape(seg.text, final=True, cell=cell) != seg.text:
        return False
    prev = line[i - 1] if i else None
    nxt = line[i + 1] if i + 1 < len(line) else None
    # Without brackets, an emphasis delimiter next to the URL might no longer flank.
    if not (_bare_side(seg, prev, -1) and _bare_side(seg, nxt, 0)):
        return False
    after = ""
    for other in line[i + 1 :]:  # the text re-parsed together with the URL
        if other is None or other.emph != seg.emph or other.code:
            break
        plain = other.raw or other.href is not None
        after += other.text if plain else _escape(other.text, cell=cell)
        if _WHITESPACE.search(after):  # a URL never runs past whitespace
            break
    if _ENTITY.search(seg.text + after):  # "&amp" then ";" would decode to "&"
        return False
    return find_urls(seg.text + after)[:1] == [(0, len(seg.text))]


def _bare_side(seg: _Seg, other: _Seg | None, edge: int) -> bool:
    """Would the emphasis delimiters between ``seg`` and ``other`` still flank (CM 6.2)?"""
    if other is None or other.emph == seg.emph:
        return True
    if other.href is not None:  # brackets or not is decided later; stay on the safe side
        return False
    near = _kind("`" if other.code else other.text[edge])
    closes, opens = (other.emph, seg.emph) if edge else (seg.emph, other.emph)
    closes, opens = closes - opens, opens - closes
    if edge:  # other comes first: its closers are followed by the URL's "h"
        return not (closes and not opens and near == "p")
    url_end = _kind(seg.text[-1])
    if closes and not opens:
        return not (url_end == "p" and near == "a")
    return not (opens and not closes and url_end == "a" and near == "p")


def _kind(ch: str) -> str:
    """CommonMark's character classes for flanking: space, punctuation or other."""
    if not ch or ch.isspace():
        return "s"
    return "p" if unicodedata.category(ch)[0] in "PS" else "a"


def _escape(text: str, *, final: bool = False, in_link: bool = False, cell: bool = False) -> str:
    # Only the characters in _SPECIAL can get a backslash, so visit just those instead of
    # every character; ordinary prose has none and comes back without any copying.
    out: list[str] = []
    pos = 0  # text before this index is already in out
    for found in _SPECIAL.finditer(text):
        i = found.start()
        ch = text[i]
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
        if esc:
            out.append(text[pos:i])
            out.append("\\")
            pos = i
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def escape_text(text: str, *, final: bool = False) -> str:
    """:func:`_escape` outside links and cells (``adf.py``'s short path for plain text)."""
    return _escape(text, final=final)


def escape_line_start(text: str) -> str:
    return _escape_line_start(text)


def _escape_line_start(text: str) -> str:
    if _LINE_START.match(text):
        return "\\" + text
    if "." not in text and ")" not in text:  # no ordered-list marker anywhere: skip the sub
        return text
    return _ORDERED_START.sub(r"\1\\\2", text, count=1)


def code_span(text: str, cell: bool) -> str:
    if cell:  # GFM splits cells on pipes before it looks at code spans
        text = text.replace("|", "\\|")
    fence = "`" * (max(map(len, _BACKTICKS.findall(text)), default=0) + 1)
    pad = text[0] == "`" or text[-1] == "`" or (text[0] == text[-1] == " " and text.strip())
    return f"{fence} {text} {fence}" if pad else f"{fence}{text}{fence}"


def _dest(href: str) -> str:
    if not _DEST_SPECIAL(href):  # the usual URL: nothing to balance, quote or escape
        return href
    href = href.replace("\n", "%0A").replace("\r", "%0D")
    depth = 0
    if ")" in href:  # only a closer can unbalance the parentheses partway through
        for ch in href:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth < 0:
                    break
    else:
        depth = href.count("(")
    if depth or _DEST_UNSAFE.search(href):
        href = "<" + _DEST_QUOTE.sub(r"\\\1", href) + ">"
    if "&" not in href:  # the entity pattern needs one
        return href
    return _ENTITY.sub(lambda m: "\\" + m.group(), href)
