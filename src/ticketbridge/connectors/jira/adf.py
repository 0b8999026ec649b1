"""Atlassian Document Format (ADF) <-> Markdown / plain text, as pure functions.

Our side keeps ticket descriptions as Markdown (plain text is valid Markdown); Jira REST v3
wants ADF. Markdown is read with markdown-it-py (CommonMark plus GFM strikethrough and
tables); ADF is written back as Markdown that re-reads to the same ADF.

Markdown -> ADF (:func:`markdown_to_adf`)
    ATX and setext headings, paragraphs (a single newline is a ``hardBreak``, as are
    markdown hard breaks), ``-``/``*``/``+`` bullet and ``1.``/``1)`` ordered lists
    (``attrs.order`` when the start is not 1), nesting by indentation, fenced and indented
    code blocks (``attrs.language`` from the info string's first word), blockquotes,
    ``---`` rules, GFM tables, ``**strong**``, ``*em*``/``_em_``, ``~~strike~~``,
    ```code```, ``[text](url)``, ``<url>`` and bare ``http(s)://`` URLs, and mentions
    written ``@[Display Name](accountid:ACCOUNT_ID)``.
ADF -> Markdown (:func:`adf_to_markdown`)
    Everything above, plus: emoji (its unicode text or ``:shortName:``), status (its text),
    date (ISO date, UTC), inline/block/embed cards (their URL, as a link), panel (as a
    blockquote), expand (title then body), task lists (``- [ ]`` / ``- [x]``), media
    (``[attachment]``, ``[attachment: alt]`` or the external URL), and any unknown node
    by its text or by recursing into its content.
ADF -> plain text (:func:`adf_to_text`)
    Text only, for search indexing: blocks on their own lines, table cells tab-separated.

Lossy, by design:
    * Markdown -> ADF: link titles; images become links; raw HTML stays literal text;
      list tightness and marker style; indented code becomes fenced; setext headings;
      a heading, quote, table or rule inside a list item or quote is flattened or dropped
      (ADF forbids them there); nesting needs CommonMark indentation (2 spaces under
      ``-``, 3 under ``1.``); plain text that happens to be Markdown syntax (``* x``,
      ``# x``) is read as Markdown.
    * ADF -> Markdown: underline, textColor, backgroundColor, subsup and annotation marks
      (the text stays, plain); marks on mentions and emoji; block marks (alignment,
      indentation, breakout); panel type (it becomes a blockquote); colspan/rowspan,
      header cells outside the first row and blocks inside cells (flattened to one
      line); emoji, status, date and card nodes come back as text or links; media (there
      is no upload path); empty paragraphs; whitespace at line ends and a trailing hard
      break; code combined with other marks (ADF forbids it anyway); text that looks
      like a URL comes back linked; marks that overlap without nesting, or that start
      and end back to back with no space between (``**a**~~b~~`` in mid-word, or next
      to punctuation), may come back as literal ``*``/``~``: CommonMark's flanking
      rules cannot express every such combination.

Round trip: ``markdown_to_adf(adf_to_markdown(d)) == d`` for every ``d`` produced by
:func:`markdown_to_adf`, and ordinary Markdown comes back unchanged except for whitespace
and marker style (``-`` bullets, ``*em*``, numbered ``1. 2. 3.``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .adf_parse import parse_markdown
from .adf_render import (
    INLINE_TYPES,
    as_str,
    child_nodes,
    code_span,
    escape_text,
    inline_lines,
    is_inline,
    leaf_text,
    node_attrs,
    paragraph_line,
    wrap_inline,
)

__all__ = ["adf_to_markdown", "adf_to_text", "markdown_to_adf"]

Node = Mapping[str, Any]
_LISTS = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})
_HEADING_TAIL = re.compile(r"(^|[ \t])(#+)[ \t]*$")
_INFO_SPECIAL = re.compile(r"([\\&|])")
_FENCE_RUNS = {"`": re.compile("`+"), "~": re.compile("~+")}


def markdown_to_adf(text: str | None) -> dict[str, Any] | None:
    """Build an ADF ``doc`` from Markdown or plain text; ``None`` for empty/blank input."""
    return parse_markdown(text)


def adf_to_markdown(doc: Mapping[str, Any] | str | None) -> str | None:
    """Render ADF as Markdown. A ``str`` is a Jira v2 plain-text value and is returned as is."""
    if doc is None or isinstance(doc, str):
        return doc
    top = child_nodes(doc.get("content")) if doc.get("type") == "doc" else [doc]
    return "\n\n".join([md for _, md in _parts(top) if md])


def adf_to_text(doc: Mapping[str, Any] | str | None) -> str:
    """Plain text without Markdown syntax, for search indexing."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    return _text(doc)


# ---------------------------------------------------------------- blocks
#
# One walk over the tree: each block is rendered by its entry in _RENDERERS, and inline
# content goes to adf_render (paragraph_line for the common one-line paragraph, else the
# general inline_lines).


def _parts(children: Sequence[Node]) -> list[tuple[Node, str]]:
    """Each block with its Markdown; stray inline nodes among them are wrapped in
    paragraphs first, so nothing is dropped."""
    parts: list[tuple[Node, str]] = []
    alt = False
    family: str | None = None
    for node in children:
        kind = node.get("type")
        if kind in INLINE_TYPES or ("text" in node and "content" not in node):
            return _parts(wrap_inline(children))  # rare: start again on the wrapped list
        # Two adjacent lists with the same marker would merge into one when re-read.
        previous, family = family, _FAMILY.get(kind)
        alt = family is not None and bool(parts) and previous == family and not alt
        parts.append((node, _RENDERERS.get(kind, _other)(node, alt)))
    return parts


def _heading(node: Node, alt: bool) -> str:
    level = node_attrs(node).get("level")
    level = level if isinstance(level, int) and 1 <= level <= 6 else 1
    content = child_nodes(node.get("content"))
    plain = _plain_text(content)
    if plain is None:
        text = " ".join(inline_lines(content, single=True))
    else:  # what inline_lines gives one unmarked line: stripped, escaped, no line start
        plain = plain.strip()
        text = escape_text(plain, final=True) if plain else ""
    if "#" in text:  # only a closing "#" sequence needs the (slower) substitution
        text = _HEADING_TAIL.sub(r"\1\\\2", text)
    return ("#" * level + " " + text).rstrip()


def _paragraph(node: Node, alt: bool) -> str:
    content = node.get("content")
    # paragraph_line declines anything but a list of plain dicts, so it can take the
    # content as it came; the general path gets it filtered.
    line = paragraph_line(content) if type(content) is list else None
    return "\n".join(inline_lines(child_nodes(content))) if line is None else line


def _quote(node: Node, alt: bool) -> str:
    inner = "\n\n".join([md for _, md in _parts(child_nodes(node.get("content"))) if md])
    return "\n".join("> " + ln if ln else ">" for ln in inner.split("\n")) if inner else ""


def _rule(node: Node, alt: bool) -> str:
    return "---"


def _table_block(node: Node, alt: bool) -> str:
    return _table(child_nodes(node.get("content")))


def _code(node: Node, alt: bool) -> str:
    return _code_block(node)


def _card(node: Node, alt: bool) -> str:
    return "\n".join(inline_lines([{**node, "type": "inlineCard"}]))


def _media(node: Node, alt: bool) -> str:
    content = child_nodes(node.get("content"))
    return " ".join(ln for media in content or [node] for ln in inline_lines([media]))


def _other(node: Node, alt: bool) -> str:
    if "content" not in node and not is_inline(node):
        return "\n".join(inline_lines([node]))  # unknown atom: keep whatever text it carries
    title = as_str(node_attrs(node).get("title"))  # expand / nestedExpand
    content = child_nodes(node.get("content"))
    children = ([{"type": "text", "text": title}] if title else []) + content
    return "\n\n".join([md for _, md in _parts(children) if md])


def _plain_text(content: Sequence[Node]) -> str | None:
    """The text of inline content that is one unmarked single-line text node (most
    list items and headings), else None. Such content takes a short path with exactly the
    output of the general one (``inline_lines``), without its segment and mark-stack
    bookkeeping."""
    if len(content) != 1:
        return None
    node = content[0]
    text = node.get("text")
    if (
        node.get("type") != "text"
        or type(text) is not str
        or node.get("marks")
        or "\n" in text
        or "\r" in text
    ):
        return None
    return text


def _list(node: Node, alt: bool) -> str:
    ordered = node.get("type") == "orderedList"
    order = node_attrs(node).get("order", 1) if ordered else 1
    start = order if isinstance(order, int) and 0 <= order < 10**8 else 1
    bullet = "* " if alt else "- "
    dot = ") " if alt else ". "
    items = []
    for n, item in enumerate(child_nodes(node.get("content"))):
        itype = item.get("type")
        if itype not in _ITEMS:
            item, itype = {"type": "listItem", "content": [item]}, "listItem"
        marker = f"{start + n}{dot}" if ordered else bullet
        body = _item_body(item)
        if itype == "taskItem":
            body = ("[x] " if node_attrs(item).get("state") == "DONE" else "[ ] ") + body
        if "\n" not in body:  # a one-line item: no continuation lines to indent
            items.append((marker + body).rstrip(" "))
            continue
        first, *rest = body.split("\n")
        pad = " " * len(marker)
        items.append(
            "\n".join([(marker + first).rstrip(" ")] + [pad + ln if ln else "" for ln in rest])
        )
    return "\n".join(items)


def _item_body(item: Node) -> str:
    children = item.get("content")
    if type(children) is list and len(children) == 1:
        child = children[0]
        if type(child) is dict and child.get("type") == "paragraph":
            # The commonest item, one paragraph: what the loop below gives for it.
            return _paragraph(child, False)
    children = child_nodes(children)
    body: str | None = None
    for child, md in _parts(children):
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
    code = "".join(as_str(n.get("text")) for n in child_nodes(node.get("content")))
    words = as_str(node_attrs(node).get("language")).split()
    # Info strings are unescaped, and a pipe would let the fence line start a GFM table.
    lang = words[0] if words else ""
    if _INFO_SPECIAL.search(lang):  # most languages are a plain word: no substitution
        lang = _INFO_SPECIAL.sub(r"\\\1", lang)
    char = "~" if "`" in lang else "`"
    lang = "\\" + lang if lang.startswith(char) else lang  # or it would lengthen the fence
    if char not in code:  # no run of the fence character to outgrow
        fence = char * 3
    else:
        fence = char * max(3, max(map(len, _FENCE_RUNS[char].findall(code)), default=0) + 1)
    return f"{fence}{lang}\n{code}\n{fence}"


def _table(rows: Sequence[Node]) -> str:
    cells = [
        [_cell(c) for c in child_nodes(row.get("content"))]
        if row.get("type") == "tableRow"
        else [_cell(row)]
        for row in rows
    ]
    width = max(map(len, cells), default=0)
    if not width:
        return ""
    lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in cells]
    lines.insert(1, "| " + " | ".join(["---"] * width) + " |")
    return "\n".join(lines)


def _cell(node: Node) -> str:
    """A GFM cell is a single line, so nested blocks are flattened to inline text."""
    content = child_nodes(node.get("content"))
    if node.get("type") == "codeBlock":
        code = " ".join("".join(as_str(n.get("text")) for n in content).split("\n"))
        return code_span(code, True) if code.strip() else ""
    if not content or is_inline(content[0]):
        return " ".join(inline_lines(content or [node], single=True, cell=True))
    return " ".join(filter(None, map(_cell, wrap_inline(content))))


_FAMILY: dict[Any, str] = {
    "orderedList": "ordered",
    "bulletList": "bullet",
    "taskList": "bullet",
    "decisionList": "bullet",
}
_ITEMS = ("listItem", "taskItem", "decisionItem")  # a tuple: an item's type may be unhashable
_RENDERERS: dict[Any, Callable[[Node, bool], str]] = {
    "paragraph": _paragraph,
    "heading": _heading,
    "orderedList": _list,
    "bulletList": _list,
    "taskList": _list,
    "decisionList": _list,
    "codeBlock": _code,
    "blockquote": _quote,
    "panel": _quote,
    "rule": _rule,
    "table": _table_block,
    "blockCard": _card,
    "embedCard": _card,
    "media": _media,
    "mediaSingle": _media,
    "mediaGroup": _media,
}


# ---------------------------------------------------------------- plain text


def _text(node: Node) -> str:
    text = leaf_text(node)
    if text is not None:
        return "" if node.get("type") in ("media", "mediaInline") else text
    kind, children = node.get("type"), child_nodes(node.get("content"))
    if kind == "tableRow":
        return "\t".join(_text(c).replace("\n", " ") for c in children)
    if kind in ("paragraph", "heading", "codeBlock") or all(map(is_inline, children)):
        return "".join(map(_text, children))
    return "\n".join(filter(None, map(_text, wrap_inline(children))))
