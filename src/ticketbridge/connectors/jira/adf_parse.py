"""Markdown -> ADF, built from markdown-it-py's syntax tree. The contract is in ``adf.py``."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.tree import SyntaxTreeNode

Node = dict[str, Any]
Mark = dict[str, Any]

MENTION_SCHEME = "accountid:"

# html off: ticket text like "<none>" or "a<b" must stay text, and ADF has no raw HTML node.
_MD = MarkdownIt("commonmark", {"html": False}).enable(["strikethrough", "table"])

# Fixed order so equal documents serialise equally whatever the markdown nesting was.
MARK_ORDER = ("link", "strong", "em", "strike", "code")
_EMPHASIS = {"strong": "strong", "em": "em", "s": "strike"}
# ADF is stricter than markdown about what may sit inside a list item or a quote.
NESTABLE = frozenset({"paragraph", "codeBlock", "bulletList", "orderedList"})
ITEM_FIRST = frozenset({"paragraph", "codeBlock"})

# linkify-it-py is not a dependency, so bare URLs are found here; the trailing
# punctuation trim follows GFM so "see https://x.org." does not link the full stop.
URL_RE = re.compile(r"https?://[^\s<>]+")
_TRAIL = ".,:;!?'\"*_~"


def find_urls(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in URL_RE.finditer(text):
        url = m.group()
        while url and (url[-1] in _TRAIL or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        if len(url) > len("https://") and "://" in url and not url.endswith("://"):
            spans.append((m.start(), m.start() + len(url)))
    return spans


def parse_markdown(text: str | None) -> Node | None:
    if not text:
        return None
    content = _blocks(SyntaxTreeNode(_MD.parse(text)).children)
    return {"type": "doc", "version": 1, "content": content} if content else None


def text_node(text: str, marks: Iterable[Mark] = ()) -> Node:
    kept = {m["type"]: m for m in marks}
    if "code" in kept:  # ADF only lets code share a text node with link
        kept = {k: v for k, v in kept.items() if k in ("code", "link")}
    node: Node = {"type": "text", "text": text}
    if kept:
        # Copies, so no two nodes of the output share (and co-mutate) one mark dict.
        node["marks"] = [copy.deepcopy(kept[t]) for t in MARK_ORDER if t in kept]
    return node


def paragraph(inline: list[Node]) -> Node:
    return {"type": "paragraph", "content": inline}


def merge_text(nodes: Iterable[Node]) -> list[Node]:
    """Drop empty text nodes (Jira rejects them) and join neighbours with equal marks."""
    out: list[Node] = []
    for node in nodes:
        if node["type"] == "text":
            if not node["text"]:
                continue
            prev = out[-1] if out else None
            if prev and prev["type"] == "text" and prev.get("marks") == node.get("marks"):
                out[-1] = {**prev, "text": prev["text"] + node["text"]}
                continue
        out.append(node)
    return out


def _blocks(nodes: Sequence[SyntaxTreeNode]) -> list[Node]:
    return [block for node in nodes for block in _block(node)]


def _block(node: SyntaxTreeNode) -> list[Node]:
    kind = node.type
    if kind == "paragraph":
        inline = _inline_of(node)
        return [paragraph(inline)] if inline else []
    if kind == "heading":
        # A heading is one line in markdown; a setext heading's line breaks become spaces.
        inline = [text_node(" ") if n["type"] == "hardBreak" else n for n in _inline_of(node)]
        inline = merge_text(inline)
        for pos, strip in ((0, str.lstrip), (-1, str.rstrip)):
            if inline and inline[pos]["type"] == "text" and "marks" not in inline[pos]:
                inline[pos] = text_node(strip(inline[pos]["text"]))
        level = int(node.tag[1:])
        return [{"type": "heading", "attrs": {"level": level}, "content": merge_text(inline)}]
    if kind in ("fence", "code_block"):
        code = node.content[:-1] if node.content.endswith("\n") else node.content
        block: Node = {"type": "codeBlock", "content": [text_node(code)] if code else []}
        words = unescapeAll(node.info).split() if kind == "fence" else []
        if words:
            block["attrs"] = {"language": words[0]}
        return [block]
    if kind in ("bullet_list", "ordered_list"):
        lst: Node = {"type": "bulletList" if kind == "bullet_list" else "orderedList"}
        start = node.attrs.get("start", 1)
        if kind == "ordered_list" and start != 1:
            lst["attrs"] = {"order": int(start)}
        lst["content"] = [_list_item(item) for item in node.children]
        return [lst]
    if kind == "blockquote":
        inner = nestable(_blocks(node.children))
        return [{"type": "blockquote", "content": inner}] if inner else []
    if kind == "hr":
        return [{"type": "rule"}]
    if kind == "table":
        return [_table(node)]
    return _blocks(node.children)


def _inline_of(node: SyntaxTreeNode) -> list[Node]:
    return _inline(node.children[0].children) if node.children else []


def _list_item(item: SyntaxTreeNode) -> Node:
    content = nestable(_blocks(item.children))
    if not content or content[0]["type"] not in ITEM_FIRST:
        content.insert(0, paragraph([]))
    return {"type": "listItem", "content": content}


def nestable(blocks: list[Node]) -> list[Node]:
    """Reshape blocks ADF forbids inside list items and quotes, keeping their text."""
    out: list[Node] = []
    for block in blocks:
        kind = block["type"]
        if kind in NESTABLE:
            out.append(block)
        elif kind == "heading" and block["content"]:
            out.append(paragraph(block["content"]))
        elif kind == "blockquote":
            out.extend(block["content"])
        elif kind == "table":
            for row in block["content"]:
                cells: list[Node] = []
                for i, cell in enumerate(row["content"]):
                    sep = [text_node(" | ")] if i else []
                    cells += sep + [n for p in cell["content"] for n in p["content"]]
                if merged := merge_text(cells):
                    out.append(paragraph(merged))
        # rule: a divider has no text to keep and no ADF form at this depth.
    return out


def _table(node: SyntaxTreeNode) -> Node:
    rows: list[Node] = []
    for section in node.children:
        for row in section.children:
            cells = [
                {
                    "type": "tableHeader" if cell.type == "th" else "tableCell",
                    "content": [paragraph(_inline(cell.children[0].children))],
                }
                for cell in row.children
            ]
            rows.append({"type": "tableRow", "content": cells})
    return {"type": "table", "content": rows}


def _with(marks: tuple[Mark, ...], mark: Mark) -> tuple[Mark, ...]:
    return (*[m for m in marks if m["type"] != mark["type"]], mark)


def _plain(nodes: Sequence[SyntaxTreeNode]) -> str:
    return "".join(
        n.content if n.type in ("text", "code_inline") else _plain(n.children) for n in nodes
    )


def _inline(nodes: Sequence[SyntaxTreeNode], marks: tuple[Mark, ...] = ()) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        kind = node.type
        if kind == "text":
            out.extend(_linkify(node.content, marks))
        elif kind in ("softbreak", "hardbreak"):
            # Plain-text descriptions rely on single newlines surviving as line breaks.
            out.append({"type": "hardBreak"})
        elif kind == "code_inline":
            out.append(text_node(node.content, _with(marks, {"type": "code"})))
        elif kind in _EMPHASIS:
            out.extend(_inline(node.children, _with(marks, {"type": _EMPHASIS[kind]})))
        elif kind == "link":
            href = str(node.attrs.get("href", ""))
            if href.startswith(MENTION_SCHEME):
                while out and out[-1]["type"] == "text" and not out[-1]["text"]:
                    out.pop()
                if out and out[-1]["type"] == "text" and out[-1]["text"].endswith("@"):
                    out[-1] = {**out[-1], "text": out[-1]["text"][:-1]}
                account = unquote(href[len(MENTION_SCHEME) :])
                name = _plain(node.children)
                out.append({"type": "mention", "attrs": {"id": account, "text": "@" + name}})
            else:
                link = {"type": "link", "attrs": {"href": href}}
                out.extend(_inline(node.children, _with(marks, link)))
        elif kind == "image":
            # ADF media needs an uploaded attachment; a link keeps the target reachable.
            src = str(node.attrs.get("src", ""))
            link = {"type": "link", "attrs": {"href": src}}
            out.append(text_node(_plain(node.children) or src, _with(marks, link)))
        else:
            out.extend(_inline(node.children, marks))
    return merge_text(out)


def _linkify(text: str, marks: tuple[Mark, ...]) -> list[Node]:
    if any(m["type"] in ("link", "code") for m in marks):
        return [text_node(text, marks)]
    out, pos = [], 0
    for start, end in find_urls(text):
        url = text[start:end]
        out.append(text_node(text[pos:start], marks))
        link = {"type": "link", "attrs": {"href": _MD.normalizeLink(url)}}
        out.append(text_node(url, _with(marks, link)))
        pos = end
    out.append(text_node(text[pos:], marks))
    return out
