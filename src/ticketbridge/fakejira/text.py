"""Plain text <-> Atlassian Document Format (ADF), just enough for the emulator.

Jira Cloud REST v3 carries rich text (``description``) as ADF, v2 as a plain (wiki-markup)
string. The emulator stores ADF and converts minimally:

* :func:`text_to_adf` turns a v2 string into a ``doc`` with one paragraph per blank-line
  separated block (single newlines become ``hardBreak`` nodes);
* :func:`adf_to_text` flattens any ADF tree to plain text: block nodes are separated by a blank
  line, list items are prefixed with ``* `` or ``1. ``, mentions render as ``@Name``, emoji as
  their short name, links keep their text. Real Jira renders v2 as wiki markup (``h1.``,
  ``{code}``...); the emulator deliberately does not, it only needs stable, searchable text.

The two are inverse for text made of paragraphs and single line breaks (what v2 clients send).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["adf_to_text", "is_adf_doc", "text_to_adf"]

# Block nodes whose children are themselves blocks (or list items).
_CONTAINERS = frozenset(
    {
        "doc",
        "blockquote",
        "panel",
        "expand",
        "nestedExpand",
        "layoutSection",
        "layoutColumn",
        "table",
        "tableRow",
        "tableCell",
        "tableHeader",
        "bodiedExtension",
        "decisionList",
        "taskList",
    }
)


def is_adf_doc(value: object) -> bool:
    """Whether ``value`` looks like an ADF document (shape check only, like Jira's first pass)."""
    return (
        isinstance(value, Mapping)
        and value.get("type") == "doc"
        and isinstance(value.get("content", []), list)
    )


def text_to_adf(text: str) -> dict[str, Any]:
    """A v2 plain string as an ADF ``doc`` (paragraphs split on blank lines)."""
    content: list[dict[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block:
            continue
        inline: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(doc: Any) -> str:
    """Flatten an ADF tree (or ``None``) to plain text."""
    if not isinstance(doc, Mapping):
        return "" if doc is None else str(doc)
    blocks: list[str] = []
    _blocks(doc, blocks, prefix="")
    return "\n\n".join(b for b in blocks if b)


def _blocks(node: Mapping[str, Any], out: list[str], prefix: str) -> None:
    kind = node.get("type")
    children = node.get("content") or []
    if kind in ("bulletList", "orderedList"):
        items: list[str] = []
        for n, item in enumerate(children, start=1):
            marker = "* " if kind == "bulletList" else f"{n}. "
            sub: list[str] = []
            grandchildren = (item.get("content") or []) if isinstance(item, Mapping) else []
            for child in grandchildren:
                if isinstance(child, Mapping):
                    _blocks(child, sub, prefix="")
            items.append(prefix + marker + "\n".join(sub))
        out.append("\n".join(items))
    elif kind in _CONTAINERS:
        for child in children:
            if isinstance(child, Mapping):
                _blocks(child, out, prefix)
    elif kind == "rule":
        out.append("----")
    else:
        # paragraph, heading, codeBlock, mediaSingle, unknown blocks: inline content only.
        out.append(prefix + "".join(_inline(c) for c in children if isinstance(c, Mapping)))


def _inline(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        name = str(attrs.get("text") or attrs.get("id") or "")
        return name if name.startswith("@") else "@" + name
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url", ""))
    if kind in ("date", "status"):
        return str(attrs.get("text") or attrs.get("timestamp") or "")
    children = node.get("content") or []
    return "".join(_inline(c) for c in children if isinstance(c, Mapping))
