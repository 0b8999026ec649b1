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
      list tightness and bullet/ordered markers; indented code becomes fenced; a heading,
      nested quote, table or rule inside a list item or quote is flattened (ADF forbids
      them there), a rule there is dropped; a list item needs CommonMark indentation to
      nest (2 spaces under ``-``, 3 under ``1.``).
    * ADF -> Markdown: underline, textColor, backgroundColor, subsup and annotation marks
      (text kept, plain); marks on mentions/emoji; alignment/indentation/breakout block
      marks; panel type (becomes a blockquote); table colspan/rowspan, header cells other
      than the first row, and blocks inside cells (flattened to one line); emoji, status,
      date and card nodes come back as text/links; media (no upload path); empty
      paragraphs; whitespace at the ends of lines and a trailing hard break; a code mark
      combined with strong/em/strike (ADF forbids it anyway).

Round trip: ``markdown_to_adf(adf_to_markdown(d)) == d`` for every ``d`` produced by
:func:`markdown_to_adf`, and ordinary Markdown comes back unchanged except for whitespace
and marker style (``-`` bullets, ``*em*``, numbered ``1. 2. 3.``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .adf_parse import parse_markdown
from .adf_render import render_markdown, render_text

__all__ = ["adf_to_markdown", "adf_to_text", "markdown_to_adf"]


def markdown_to_adf(text: str | None) -> dict[str, Any] | None:
    """Build an ADF ``doc`` from Markdown or plain text; ``None`` for empty/blank input."""
    return parse_markdown(text)


def adf_to_markdown(doc: Mapping[str, Any] | str | None) -> str | None:
    """Render ADF as Markdown. A ``str`` is a Jira v2 plain-text value and is returned as is."""
    if doc is None or isinstance(doc, str):
        return doc
    return render_markdown(doc)


def adf_to_text(doc: Mapping[str, Any] | str | None) -> str:
    """Plain text without Markdown syntax, for search indexing."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    return render_text(doc)
