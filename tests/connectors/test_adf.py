"""ADF <-> Markdown/plain text: every node and mark both ways, escaping, and round trips."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticketbridge.connectors.jira.adf import adf_to_markdown, adf_to_text, markdown_to_adf

# ---------------------------------------------------------------- builders and validator

MARK_ORDER = ("link", "strong", "em", "strike", "code")
ACCOUNT = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"


def doc(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(content)}


def p(*content: dict[str, Any] | str) -> dict[str, Any]:
    return {"type": "paragraph", "content": [t(c) if isinstance(c, str) else c for c in content]}


def t(text: str, *marks: str, href: str | None = None) -> dict[str, Any]:
    found: list[dict[str, Any]] = [{"type": m} for m in marks]
    if href is not None:
        found.append({"type": "link", "attrs": {"href": href}})
    node: dict[str, Any] = {"type": "text", "text": text}
    if found:
        node["marks"] = sorted(found, key=lambda m: MARK_ORDER.index(m["type"]))
    return node


def h(level: int, *content: dict[str, Any] | str) -> dict[str, Any]:
    return {"type": "heading", "attrs": {"level": level}, "content": p(*content)["content"]}


def li(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "listItem", "content": list(content)}


def ul(*items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bulletList", "content": list(items)}


def ol(*items: dict[str, Any], order: int = 1) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "orderedList", "content": list(items)}
    if order != 1:
        node["attrs"] = {"order": order}
    return node


def code(text: str, language: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "codeBlock", "content": [t(text)] if text else []}
    if language:
        node["attrs"] = {"language": language}
    return node


def mention(name: str, account: str = ACCOUNT) -> dict[str, Any]:
    return {"type": "mention", "attrs": {"id": account, "text": "@" + name}}


BR: dict[str, Any] = {"type": "hardBreak"}

INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"}
NESTABLE = {"paragraph", "codeBlock", "bulletList", "orderedList", "mediaSingle"}
CELL = NESTABLE | {"heading", "blockquote", "rule", "panel", "mediaGroup"}
TOP = CELL | {"table", "blockCard", "expand"}
CHILDREN: dict[str, set[str]] = {
    "doc": TOP,
    "paragraph": INLINE,
    "heading": INLINE,
    "bulletList": {"listItem"},
    "orderedList": {"listItem"},
    "listItem": NESTABLE,
    "blockquote": NESTABLE | {"mediaGroup"},
    "codeBlock": {"text"},
    "table": {"tableRow"},
    "tableRow": {"tableHeader", "tableCell"},
    "tableHeader": CELL,
    "tableCell": CELL,
    "panel": NESTABLE | {"heading", "rule"},
}
NON_EMPTY = {"bulletList", "orderedList", "listItem", "blockquote", "table", "tableRow"}
MARKS = {"strong", "em", "strike", "code", "link", "underline", "textColor", "subsup"}


def assert_valid_adf(document: Mapping[str, Any]) -> None:
    """A structural subset of the ADF JSON schema that Jira enforces on write."""
    assert document["type"] == "doc" and document["version"] == 1
    _check(document)


def _check(node: Mapping[str, Any]) -> None:
    kind = node["type"]
    assert set(node) <= {"type", "content", "attrs", "marks", "text", "version"}, node
    if kind == "text":
        assert isinstance(node["text"], str) and node["text"], "Jira rejects empty text nodes"
        types = [m["type"] for m in node.get("marks", [])]
        assert set(types) <= MARKS and len(types) == len(set(types)), node
        assert "code" not in types or set(types) <= {"code", "link"}, node
        for mark in node.get("marks", []):
            if mark["type"] == "link":
                assert isinstance(mark["attrs"]["href"], str)
            else:
                assert set(mark) == {"type"}
        return
    assert "marks" not in node and "text" not in node, node
    if kind in ("hardBreak", "rule"):
        assert "content" not in node
        return
    if kind == "mention":
        assert isinstance(node["attrs"]["id"], str) and isinstance(node["attrs"]["text"], str)
        return
    attrs = node.get("attrs", {})
    if kind == "heading":
        assert attrs["level"] in range(1, 7)
    elif kind == "orderedList" and "attrs" in node:
        assert isinstance(attrs["order"], int) and attrs["order"] >= 0
    elif kind == "codeBlock" and "attrs" in node:
        assert isinstance(attrs["language"], str) and attrs["language"]
    else:
        assert "attrs" not in node, node
    content = node["content"]
    if kind == "codeBlock":
        assert all("marks" not in c for c in content), "code text carries no marks"
    assert {c["type"] for c in content} <= CHILDREN[kind], node
    if kind in NON_EMPTY:
        assert content, f"{kind} needs content"
    if kind == "listItem":
        assert content[0]["type"] in ("paragraph", "codeBlock", "mediaSingle")
    for child in content:
        _check(child)


def md2adf(text: str) -> dict[str, Any]:
    result = markdown_to_adf(text)
    assert result is not None
    assert_valid_adf(result)
    return result


def adf2md(document: Mapping[str, Any]) -> str:
    result = adf_to_markdown(document)
    assert result is not None
    return result


def assert_adf_round_trip(document: dict[str, Any]) -> None:
    assert_valid_adf(document)
    assert markdown_to_adf(adf2md(document)) == document


# ---------------------------------------------------------------- inputs and outputs


class TestEmptyAndPassthrough:
    @pytest.mark.parametrize("text", [None, "", "   ", "\n\n\t\n"])
    def test_blank_markdown_is_no_document(self, text: str | None) -> None:
        assert markdown_to_adf(text) is None

    def test_none_and_v2_strings(self) -> None:
        assert adf_to_markdown(None) is None
        assert adf_to_markdown("Jira *v2* text {code}") == "Jira *v2* text {code}"
        assert adf_to_text(None) == ""
        assert adf_to_text("plain v2") == "plain v2"

    def test_empty_document(self) -> None:
        assert adf_to_markdown(doc()) == ""
        assert adf_to_text(doc()) == ""


class TestPlainText:
    def test_blank_lines_split_paragraphs_and_newlines_are_hard_breaks(self) -> None:
        assert md2adf("first line\nsecond line\n\nnext paragraph") == doc(
            p("first line", BR, "second line"), p("next paragraph")
        )

    def test_crlf_input(self) -> None:
        assert md2adf("a\r\nb\r\n\r\nc") == doc(p("a", BR, "b"), p("c"))

    @pytest.mark.parametrize(
        "text",
        [
            "Use snake_case names, 2 * 3 = 6 and a < b > c.",
            "Path C:\\Users\\me and 100% done; [WIP] #123 - really!",
            "Price: $5 & tax ~ 10% (approx.)",
        ],
    )
    def test_prose_with_punctuation_is_unchanged(self, text: str) -> None:
        assert md2adf(text) == doc(p(text))
        assert adf2md(md2adf(text)) == text

    def test_line_breaks_survive_the_round_trip(self) -> None:
        text = "Dear team,\nthe build is red.\n\nThanks"
        assert adf2md(md2adf(text)) == text


# ---------------------------------------------------------------- block nodes


class TestHeadings:
    @pytest.mark.parametrize("level", range(1, 7))
    def test_atx_levels(self, level: int) -> None:
        source = "#" * level + " Title"
        assert md2adf(source) == doc(h(level, "Title"))
        assert adf2md(doc(h(level, "Title"))) == source

    def test_setext_heading_becomes_atx(self) -> None:
        assert md2adf("Title\n=====") == doc(h(1, "Title"))
        assert adf2md(md2adf("Sub\n---")) == "## Sub"

    def test_marks_inside_heading_and_closing_hashes(self) -> None:
        assert md2adf("## Fix **login** ##") == doc(h(2, "Fix ", t("login", "strong")))
        assert_adf_round_trip(doc(h(1, "C# and #")))

    def test_out_of_range_level_is_clamped(self) -> None:
        assert adf2md(doc({"type": "heading", "attrs": {"level": 9}, "content": [t("x")]})) == "# x"


class TestLists:
    def test_bullet_markers(self) -> None:
        for marker in "-*+":
            assert md2adf(f"{marker} a\n{marker} b") == doc(ul(li(p("a")), li(p("b"))))
        assert adf2md(doc(ul(li(p("a")), li(p("b"))))) == "- a\n- b"

    def test_ordered_start(self) -> None:
        assert md2adf("1. a\n2. b") == doc(ol(li(p("a")), li(p("b"))))
        assert md2adf("3. a\n4. b") == doc(ol(li(p("a")), li(p("b")), order=3))
        assert adf2md(doc(ol(li(p("a")), li(p("b")), order=3))) == "3. a\n4. b"
        assert md2adf("0. zero") == doc(ol(li(p("zero")), order=0))

    def test_nested_by_indentation(self) -> None:
        source = "- a\n  - b\n    - c\n- d"
        expected = doc(ul(li(p("a"), ul(li(p("b"), ul(li(p("c")))))), li(p("d"))))
        assert md2adf(source) == expected
        assert adf2md(expected) == source

    def test_mixed_nesting_uses_marker_width(self) -> None:
        source = "1. a\n   - b\n2. c"
        expected = doc(ol(li(p("a"), ul(li(p("b")))), li(p("c"))))
        assert md2adf(source) == expected
        assert adf2md(expected) == source

    def test_adjacent_lists_stay_separate(self) -> None:
        two_bullets = doc(ul(li(p("a"))), ul(li(p("b"))))
        assert adf2md(two_bullets) == "- a\n\n* b"
        assert_adf_round_trip(two_bullets)
        assert_adf_round_trip(doc(ol(li(p("a"))), ol(li(p("b")), order=5)))

    def test_items_with_several_blocks(self) -> None:
        item = li(p("intro"), code("x = 1", "python"), p("outro"), ol(li(p("n")), order=4))
        assert_adf_round_trip(doc(ul(item, li(p("next")))))

    def test_empty_item_and_item_starting_with_a_list(self) -> None:
        assert md2adf("-\n- b") == doc(ul(li(p()), li(p("b"))))
        assert md2adf("- - a") == doc(ul(li(p(), ul(li(p("a"))))))
        assert_adf_round_trip(doc(ul(li(p(), ul(li(p(), ul(li(p()))))))))

    def test_disallowed_blocks_in_items_are_flattened(self) -> None:
        assert md2adf("- # Title\n\n  > quoted\n\n  ---") == doc(ul(li(p("Title"), p("quoted"))))


class TestCodeBlocks:
    def test_fenced_with_language(self) -> None:
        source = '```python\nprint("hi")\n\n# done\n```'
        assert md2adf(source) == doc(code('print("hi")\n\n# done', "python"))
        assert adf2md(md2adf(source)) == source

    def test_without_language_and_empty(self) -> None:
        assert md2adf("```\nplain\n```") == doc(code("plain"))
        assert md2adf("```\n```") == doc(code(""))
        assert adf2md(doc(code(""))) == "```\n\n```"

    def test_indented_code_becomes_a_code_block(self) -> None:
        assert md2adf("    indented\n    code") == doc(code("indented\ncode"))

    def test_backticks_inside_use_a_longer_fence(self) -> None:
        block = doc(code("```\nnested fence\n````", "md"))
        assert adf2md(block).startswith("`````md\n")
        assert_adf_round_trip(block)

    @pytest.mark.parametrize("language", ["a|b", "~x`y", "&amp;", "c\\d", "`q"])
    def test_awkward_languages(self, language: str) -> None:
        assert_adf_round_trip(doc(code("x", language)))

    def test_code_is_never_escaped_or_marked(self) -> None:
        text = "**not bold** <b> &amp; \\n _x_"
        assert_adf_round_trip(doc(code(text, "c++")))
        assert adf2md(doc(code(text))) == f"```\n{text}\n```"


class TestBlockquotePanelAndRule:
    def test_blockquote(self) -> None:
        source = "> quoted\n> line\n>\n> - item"
        expected = doc(
            {"type": "blockquote", "content": [p("quoted", BR, "line"), ul(li(p("item")))]}
        )
        assert md2adf(source) == expected
        assert adf2md(expected) == source

    def test_rule(self) -> None:
        assert md2adf("a\n\n---\n\nb") == doc(p("a"), {"type": "rule"}, p("b"))
        assert adf2md(doc(p("a"), {"type": "rule"}, p("b"))) == "a\n\n---\n\nb"

    def test_panel_renders_as_blockquote(self) -> None:
        panel = {"type": "panel", "attrs": {"panelType": "info"}, "content": [p("Heads up")]}
        assert adf2md(doc(panel)) == "> Heads up"
        assert adf_to_text(doc(panel)) == "Heads up"


class TestTables:
    def test_markdown_table_becomes_adf_table(self) -> None:
        result = md2adf("| a | **b** |\n| --- | --- |\n| 1 |  |")
        header = {"type": "tableHeader", "content": [p("a")]}
        bold = {"type": "tableHeader", "content": [p(t("b", "strong"))]}
        row = [{"type": "tableCell", "content": [p("1")]}, {"type": "tableCell", "content": [p()]}]
        assert result == doc(
            {
                "type": "table",
                "content": [
                    {"type": "tableRow", "content": [header, bold]},
                    {"type": "tableRow", "content": row},
                ],
            }
        )
        assert_adf_round_trip(result)

    def test_jira_table_rendering(self) -> None:
        def cell(kind: str, *blocks: dict[str, Any]) -> dict[str, Any]:
            return {"type": kind, "attrs": {"colspan": 1}, "content": list(blocks)}

        table = {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
            "content": [
                {
                    "type": "tableRow",
                    "content": [cell("tableHeader", p("k")), cell("tableHeader", p("v"))],
                },
                {
                    "type": "tableRow",
                    "content": [
                        cell("tableCell", p("a|b")),
                        cell("tableCell", p("x", BR, "y"), ul(li(p("z")))),
                    ],
                },
                {"type": "tableRow", "content": [cell("tableCell", code("c|d"))]},
            ],
        }
        assert adf2md(doc(table)) == ("| k | v |\n| --- | --- |\n| a\\|b | x y z |\n| `c\\|d` |  |")
        assert adf_to_text(doc(table)) == "k\tv\na|b\tx y z\nc|d"


# ---------------------------------------------------------------- inline nodes and marks


class TestMarks:
    @pytest.mark.parametrize(
        ("source", "node"),
        [
            ("**bold**", t("bold", "strong")),
            ("__bold__", t("bold", "strong")),
            ("*it*", t("it", "em")),
            ("_it_", t("it", "em")),
            ("~~gone~~", t("gone", "strike")),
            ("`x = 1`", t("x = 1", "code")),
            ("***both***", t("both", "strong", "em")),
            ("[site](https://example.com)", t("site", href="https://example.com")),
            ("[`api`](https://example.com/api)", t("api", "code", href="https://example.com/api")),
        ],
    )
    def test_each_mark(self, source: str, node: dict[str, Any]) -> None:
        assert md2adf(source) == doc(p(node))
        assert_adf_round_trip(doc(p(node)))

    def test_canonical_rendering(self) -> None:
        assert adf2md(doc(p(t("b", "strong"), " ", t("i", "em"), " ", t("s", "strike")))) == (
            "**b** *i* ~~s~~"
        )

    def test_code_drops_other_marks_but_keeps_links(self) -> None:
        assert md2adf("**`x`**") == doc(p(t("x", "code")))
        assert md2adf("[**`x`**](https://e.io)") == doc(p(t("x", "code", href="https://e.io")))

    def test_overlapping_marks(self) -> None:
        assert_adf_round_trip(doc(p(t("a", "strong"), t("b", "strong", "em"), " c")))
        assert_adf_round_trip(doc(p(t("a", "em"), t("b", "strong", "em"), t("c", "em"))))
        assert_adf_round_trip(doc(p(t("a ", "em"), t("b", "em", "strike"), " ", t("c", "code"))))

    def test_emphasis_around_breaks_mentions_and_code(self) -> None:
        assert_adf_round_trip(doc(p(t("a", "strong", "em"), mention("M"), t("b", "em"))))
        assert_adf_round_trip(doc(p(t("a", "strong", "em"), t("c", "code"), t("b", "em"))))
        assert_adf_round_trip(doc(p(t("a\t", "em"), BR, t("b", "em"))))
        assert adf2md(doc(p(t("a", "strong"), BR, t("b", "strong")))) == "**a**\n**b**"

    def test_whitespace_moves_outside_delimiters(self) -> None:
        node = doc(p("x", t(" bold ", "strong"), "y"))
        assert adf2md(node) == "x **bold** y"

    @pytest.mark.parametrize("mark", ["underline", "textColor", "subsup", "backgroundColor"])
    def test_unsupported_marks_become_plain_text(self, mark: str) -> None:
        node = {"type": "text", "text": "styled", "marks": [{"type": mark, "attrs": {}}]}
        assert adf2md(doc(p("a ", node, " b"))) == "a styled b"

    def test_code_span_with_backticks_and_spaces(self) -> None:
        for text in ("a`b", "`edge`", " padded ", "  "):
            assert_adf_round_trip(doc(p("x ", t(text, "code"), " y")))


class TestLinks:
    def test_bare_urls_are_linked_without_trailing_punctuation(self) -> None:
        url = "https://example.com/a_b?q=1&r=(2)"
        assert md2adf(f"See {url}.") == doc(p("See ", t(url, href=url), "."))
        assert adf2md(md2adf(f"See {url}.")) == f"See {url}."
        assert md2adf("(https://example.com/x)") == doc(
            p("(", t("https://example.com/x", href="https://example.com/x"), ")")
        )

    def test_autolink_and_link_text_equal_to_url(self) -> None:
        assert md2adf("<https://example.com>") == doc(
            p(t("https://example.com", href="https://example.com"))
        )
        assert adf2md(md2adf("<https://example.com>")) == "https://example.com"

    def test_url_glued_to_text_keeps_its_brackets(self) -> None:
        node = doc(p(t("https://a.io", href="https://a.io"), "xyz"))
        assert adf2md(node) == "[https://a.io](https://a.io)xyz"
        assert_adf_round_trip(node)

    def test_awkward_destinations(self) -> None:
        for href in ("https://e.io/a b", "https://e.io/(x", "https://e.io/<x>", ""):
            rendered = adf2md(doc(p(t("t", href=href))))
            again = markdown_to_adf(rendered)
            assert again is not None
            assert again["content"][0]["content"][0]["text"] == "t", rendered

    def test_image_becomes_link_and_title_is_dropped(self) -> None:
        assert md2adf('![logo](https://e.io/l.png "Logo")') == doc(
            p(t("logo", href="https://e.io/l.png"))
        )
        assert md2adf('[x](https://e.io "title")') == doc(p(t("x", href="https://e.io")))

    def test_unsafe_schemes_are_not_links(self) -> None:
        result = md2adf("[x](javascript:alert(1))")
        assert "marks" not in result["content"][0]["content"][0]


class TestMentions:
    def test_mention_syntax(self) -> None:
        result = md2adf(f"Ping @[Jane Doe](accountid:{ACCOUNT}), thanks")
        assert result == doc(p("Ping ", mention("Jane Doe"), ", thanks"))
        assert adf2md(result) == f"Ping @[Jane Doe](accountid:{ACCOUNT}), thanks"

    def test_mention_from_jira_without_at_sign_or_name(self) -> None:
        raw = {"type": "mention", "attrs": {"id": "abc", "text": "Bob", "accessLevel": ""}}
        assert adf2md(doc(p(raw))) == "@[Bob](accountid:abc)"
        assert adf2md(doc(p({"type": "mention", "attrs": {"id": "abc"}}))) == (
            "@[abc](accountid:abc)"
        )
        assert adf_to_text(doc(p(raw))) == "@Bob"

    def test_mention_name_with_brackets(self) -> None:
        assert_adf_round_trip(doc(p("cc ", mention("Ops [EU] team"), " and ", mention("x"))))

    def test_mention_inside_emphasis(self) -> None:
        assert md2adf(f"*hi @[Al](accountid:{ACCOUNT})*") == doc(p(t("hi ", "em"), mention("Al")))


class TestOtherInlineNodes:
    def test_emoji_status_date_and_cards(self) -> None:
        nodes: list[dict[str, Any] | str] = [
            {"type": "emoji", "attrs": {"shortName": ":fire:", "id": "1f525", "text": "🔥"}},
            " ",
            {"type": "emoji", "attrs": {"shortName": ":party-parrot:"}},
            " ",
            {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
            " ",
            {"type": "date", "attrs": {"timestamp": "1700000000000"}},
            " ",
            {"type": "inlineCard", "attrs": {"url": "https://acme.atlassian.net/browse/A-1"}},
        ]
        expected = "🔥 :party-parrot: IN PROGRESS 2023-11-14 https://acme.atlassian.net/browse/A-1"
        assert adf2md(doc(p(*nodes))) == expected
        assert adf_to_text(doc(p(*nodes))) == expected

    def test_block_cards_and_media(self) -> None:
        blocks: list[dict[str, Any]] = [
            {"type": "blockCard", "attrs": {"url": "https://e.io/card"}},
            {"type": "embedCard", "attrs": {"url": "https://e.io/embed", "layout": "wide"}},
            {
                "type": "mediaSingle",
                "content": [{"type": "media", "attrs": {"type": "file", "id": "1"}}],
            },
            {
                "type": "mediaGroup",
                "content": [
                    {"type": "media", "attrs": {"type": "file", "alt": "log.txt"}},
                    {"type": "media", "attrs": {"type": "external", "url": "https://e.io/i.png"}},
                ],
            },
        ]
        assert adf2md(doc(*blocks)) == (
            "https://e.io/card\n\nhttps://e.io/embed\n\n[attachment]\n\n"
            "[attachment: log.txt] https://e.io/i.png"
        )
        assert adf_to_text(doc(*blocks)) == "https://e.io/card\nhttps://e.io/embed"

    def test_task_and_decision_lists(self) -> None:
        tasks = {
            "type": "taskList",
            "attrs": {"localId": "l"},
            "content": [
                {
                    "type": "taskItem",
                    "attrs": {"state": "DONE", "localId": "1"},
                    "content": [t("shipped")],
                },
                {
                    "type": "taskItem",
                    "attrs": {"state": "TODO", "localId": "2"},
                    "content": [t("docs")],
                },
            ],
        }
        decisions = {
            "type": "decisionList",
            "content": [
                {"type": "decisionItem", "attrs": {"state": "DECIDED"}, "content": [t("go")]}
            ],
        }
        assert adf2md(doc(tasks, decisions)) == "- [x] shipped\n- [ ] docs\n\n* go"

    def test_expand_and_layouts_keep_their_text(self) -> None:
        expand = {"type": "expand", "attrs": {"title": "Details"}, "content": [p("hidden")]}
        layout = {
            "type": "layoutSection",
            "content": [
                {"type": "layoutColumn", "attrs": {"width": 50}, "content": [p("left")]},
                {"type": "layoutColumn", "attrs": {"width": 50}, "content": [p("right")]},
            ],
        }
        assert adf2md(doc(expand, layout)) == "Details\n\nhidden\n\nleft\n\nright"

    def test_unknown_nodes_are_recursed_or_read_for_text(self) -> None:
        weird = doc(
            {
                "type": "futureBlock",
                "content": [p("inside"), {"type": "futureInline", "text": "loose"}],
            },
            p("a ", {"type": "futureInline", "content": [t("nested", "strong")]}, " b"),
            {"type": "placeholderish", "attrs": {"text": "from attrs"}},
            {"type": "extension", "attrs": {"extensionKey": "x"}},
        )
        assert adf2md(weird) == "inside\n\nloose\n\na **nested** b\n\nfrom attrs"
        assert adf_to_text(weird) == "inside\nloose\na nested b\nfrom attrs"

    @pytest.mark.parametrize(
        "garbage",
        [
            {"type": "doc"},
            {"type": "doc", "content": "nope"},
            {"content": [None, 3, "x", {"type": "paragraph", "content": [{"text": 5}]}]},
            doc({"type": "paragraph", "content": [{"type": "text", "text": None, "marks": "x"}]}),
            doc({"type": "heading", "attrs": "bad", "content": [t("h")]}),
            doc({"type": "orderedList", "attrs": {"order": "7"}, "content": [li(p("x"))]}),
            doc({"type": "date", "attrs": {"timestamp": "soon"}}),
            doc(p({"type": "text", "text": "t", "marks": [{"type": "link"}, {"nope": 1}]})),
            doc({"type": "table", "content": [{"type": "tableRow"}]}),
        ],
    )
    def test_malformed_input_never_crashes(self, garbage: dict[str, Any]) -> None:
        assert isinstance(adf_to_markdown(garbage), str)
        assert isinstance(adf_to_text(garbage), str)


class TestEscaping:
    @pytest.mark.parametrize(
        "text",
        [
            "# not a heading",
            "- not a list",
            "+ nor this",
            "1. not ordered",
            "2) neither",
            "> not a quote",
            "*not em* and _not em_ and **not strong**",
            "~~not struck~~ but ~single~ ok",
            "`not code`",
            "[not](a link) and [ref]",
            "![not](an image)",
            "<not:an-autolink> <nor@an.email>",
            "&amp; &#35; &copy;",
            "trailing backslash \\",
            "\\* escaped already",
            "---",
            "===",
            "| a | b |",
            "[ref]: /not/a/definition",
            "```",
            "~~~",
            "@[Not](a mention)",
            "a_b_c and _edge",
        ],
    )
    def test_literal_text_survives(self, text: str) -> None:
        assert_adf_round_trip(doc(p(text)))

    @pytest.mark.parametrize("line", ["# h", "- i", "1. n", "> q", "---", "===", "| - |"])
    def test_line_starts_after_hard_breaks(self, line: str) -> None:
        assert_adf_round_trip(doc(p("first", BR, line)))
        assert_adf_round_trip(doc(ul(li(p("first", BR, line)))))

    def test_link_definition_lookalikes(self) -> None:
        assert_adf_round_trip(doc(p("[a", BR, "b]: c")))
        assert_adf_round_trip(doc(p("[", BR, "[r]: /x")))
        assert adf2md(doc(p("[WIP] fix"))) == "[WIP] fix"

    def test_leading_and_repeated_breaks(self) -> None:
        assert_adf_round_trip(doc(p(BR, "a", BR, BR, "b")))
        assert_adf_round_trip(doc(p("a\t", BR, "b")))

    def test_table_cells_escape_pipes(self) -> None:
        assert "\\|" in adf2md(
            doc(
                {
                    "type": "table",
                    "content": [
                        {
                            "type": "tableRow",
                            "content": [{"type": "tableHeader", "content": [p("a|b")]}],
                        }
                    ],
                }
            )
        )


# ---------------------------------------------------------------- a realistic Jira description

RICH_ADF: dict[str, Any] = doc(
    h(2, "Summary"),
    p(
        "Login crashes with ",
        t("SSO", "strong"),
        " enabled. Reported by ",
        mention("Jane Doe"),
        " ",
        {"type": "emoji", "attrs": {"shortName": ":fire:", "id": "1f525", "text": "🔥"}},
        BR,
        "See ",
        t("the runbook", href="https://wiki.example.com/runbook?id=42&x=1"),
        " and ",
        {"type": "inlineCard", "attrs": {"url": "https://acme.atlassian.net/browse/ACME-1"}},
        ".",
    ),
    h(3, "Steps to reproduce"),
    ol(
        li(p("Open ", t("/login", "code"))),
        li(
            p("Click ", t("Sign in", "strong")),
            ul(
                li(p("Chrome 120")),
                li(p(t("Firefox", "em"), " (only on ", t("Linux", "strike"), ")")),
            ),
        ),
        li(p("Observe the error")),
    ),
    code('def login(user):\n    raise RuntimeError("boom")', "python"),
    {
        "type": "panel",
        "attrs": {"panelType": "warning"},
        "content": [p("ログイン画面の不具合 — naïve retry ✅")],
    },
    {
        "type": "table",
        "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
        "content": [
            {
                "type": "tableRow",
                "content": [
                    {"type": "tableHeader", "attrs": {}, "content": [p("Env")]},
                    {"type": "tableHeader", "attrs": {}, "content": [p("Status")]},
                ],
            },
            {
                "type": "tableRow",
                "content": [
                    {"type": "tableCell", "attrs": {}, "content": [p("Prod")]},
                    {
                        "type": "tableCell",
                        "attrs": {},
                        "content": [
                            p({"type": "status", "attrs": {"text": "BROKEN", "color": "red"}})
                        ],
                    },
                ],
            },
            {
                "type": "tableRow",
                "content": [
                    {"type": "tableCell", "attrs": {}, "content": [p("Staging 🚧")]},
                    {
                        "type": "tableCell",
                        "attrs": {},
                        "content": [
                            p("since ", {"type": "date", "attrs": {"timestamp": "1700000000000"}})
                        ],
                    },
                ],
            },
        ],
    },
    {"type": "blockquote", "content": [p("Customer: ", t("“it just spins”", "em"))]},
    {"type": "rule"},
    p(
        {
            "type": "text",
            "text": "Colour",
            "marks": [{"type": "textColor", "attrs": {"color": "#ff5630"}}],
        }
    ),
    {
        "type": "mediaSingle",
        "attrs": {"layout": "center"},
        "content": [
            {"type": "media", "attrs": {"type": "file", "id": "abc", "collection": "jira-1"}}
        ],
    },
)

RICH_MD = f"""## Summary

Login crashes with **SSO** enabled. Reported by @[Jane Doe](accountid:{ACCOUNT}) 🔥
See [the runbook](https://wiki.example.com/runbook?id=42&x=1) and https://acme.atlassian.net/browse/ACME-1.

### Steps to reproduce

1. Open `/login`
2. Click **Sign in**
   - Chrome 120
   - *Firefox* (only on ~~Linux~~)
3. Observe the error

```python
def login(user):
    raise RuntimeError("boom")
```

> ログイン画面の不具合 — naïve retry ✅

| Env | Status |
| --- | --- |
| Prod | BROKEN |
| Staging 🚧 | since 2023-11-14 |

> Customer: *“it just spins”*

---

Colour

[attachment]"""


class TestRichJiraDescription:
    def test_to_markdown(self) -> None:
        assert adf2md(RICH_ADF) == RICH_MD

    def test_markdown_back_to_valid_adf_is_stable(self) -> None:
        again = md2adf(RICH_MD)
        assert adf2md(again) == RICH_MD
        for i in (0, 2, 3, 4, 8):  # headings, the nested list, the code block, the rule
            assert again["content"][i] == RICH_ADF["content"][i]
        assert again["content"][1]["content"][3] == mention("Jane Doe")

    def test_to_text(self) -> None:
        assert adf_to_text(RICH_ADF) == (
            "Summary\n"
            "Login crashes with SSO enabled. Reported by @Jane Doe 🔥\n"
            "See the runbook and https://acme.atlassian.net/browse/ACME-1.\n"
            "Steps to reproduce\nOpen /login\nClick Sign in\nChrome 120\n"
            "Firefox (only on Linux)\nObserve the error\n"
            'def login(user):\n    raise RuntimeError("boom")\n'
            "ログイン画面の不具合 — naïve retry ✅\n"
            "Env\tStatus\nProd\tBROKEN\nStaging 🚧\tsince 2023-11-14\n"
            "Customer: “it just spins”\nColour"
        )


# ---------------------------------------------------------------- properties

WORD = st.text(string.ascii_letters + string.digits, min_size=1, max_size=6)
PHRASE = st.lists(WORD, min_size=1, max_size=3).map(" ".join)
HREF = st.sampled_from(["https://example.com", "https://example.com/a_b?x=1", "https://e.io/p"])
MARK_SETS: list[tuple[str, ...]] = [
    (),
    (),
    ("strong",),
    ("em",),
    ("strike",),
    ("strong", "em"),
    ("em", "strike"),
    ("code",),
]


def _merge(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for node in nodes:
        last = out[-1] if out else None
        if (
            last
            and node["type"] == last["type"] == "text"
            and node.get("marks") == last.get("marks")
        ):
            out[-1] = {**last, "text": last["text"] + node["text"]}
        else:
            out.append(node)
    return out


@st.composite
def inline_content(draw: st.DrawFn, breaks: bool = True) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["text", "text", "link", "url", "mention"]))
        marks = draw(st.sampled_from(MARK_SETS))
        if kind == "mention":
            node = mention(draw(PHRASE), draw(WORD))
        elif kind == "url":
            href = draw(HREF)
            node = t(href, *[m for m in marks if m != "code"], href=href)
        else:
            node = t(draw(PHRASE), *marks, href=draw(HREF) if kind == "link" else None)
        if i:
            sep = draw(st.sampled_from([" ", " ", "", "br"] if breaks else [" ", ""]))
            if sep == "br":
                nodes.append(BR)
            elif sep or not _can_touch(nodes[-1], node):
                nodes.append(t(" "))
        nodes.append(node)
    return _merge(nodes)


def _can_touch(left: dict[str, Any], right: dict[str, Any]) -> bool:
    """Whether two nodes may meet without a space. CommonMark cannot express every mark
    change inside a word: a run of different delimiters there fails to flank
    ("a~~*b*~~"), and runs of asterisks between two marked words pair up by the rule of
    three rather than by intent, so no markdown produces such documents."""
    emphasis = {"strong", "em", "strike"}
    marks = [{m["type"] for m in node.get("marks", [])} for node in (left, right)]
    changed = marks[0] ^ marks[1]
    plain_side = not marks[0] & emphasis or not marks[1] & emphasis
    return plain_side and (len(changed) <= 1 or changed <= {"strong", "em"})


@st.composite
def adf_lists(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        content = [p(*draw(inline_content()))]
        if depth < 2 and draw(st.booleans()):
            content.append(draw(adf_lists(depth + 1)))
        items.append(li(*content))
    if draw(st.booleans()):
        return ul(*items)
    return ol(*items, order=draw(st.sampled_from([1, 1, 0, 3, 12])))


def _indent_some(line: str) -> str:
    return "    " + line if line.startswith(("a", "b")) else line


CODE_LINE = st.lists(WORD, max_size=3).map(" ".join).map(_indent_some)


@st.composite
def adf_blocks(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["p", "p", "h", "list", "code", "quote", "rule", "table"]))
    if kind == "h":
        return h(draw(st.integers(1, 6)), *draw(inline_content(breaks=False)))
    if kind == "list":
        return draw(adf_lists())
    if kind == "code":
        text = "\n".join(draw(st.lists(CODE_LINE, max_size=4)))
        return code(text, draw(st.sampled_from([None, "python", "c++", "js"])))
    if kind == "quote":
        return {
            "type": "blockquote",
            "content": [p(*draw(inline_content())) for _ in range(draw(st.integers(1, 2)))],
        }
    if kind == "rule":
        return {"type": "rule"}
    if kind == "table":
        width = draw(st.integers(1, 3))
        rows = []
        for r in range(draw(st.integers(1, 3))):
            cells = [
                {
                    "type": "tableHeader" if r == 0 else "tableCell",
                    "content": [p(*draw(st.one_of(st.just([]), inline_content(breaks=False))))],
                }
                for _ in range(width)
            ]
            rows.append({"type": "tableRow", "content": cells})
        return {"type": "table", "content": rows}
    return p(*draw(inline_content()))


ADF_DOCS = st.lists(adf_blocks(), min_size=1, max_size=5).map(lambda blocks: doc(*blocks))

MD_INLINE = st.lists(
    st.one_of(
        WORD,
        WORD.map(lambda w: f"**{w}**"),
        WORD.map(lambda w: f"*{w}*"),
        WORD.map(lambda w: f"~~{w}~~"),
        WORD.map(lambda w: f"`{w}`"),
        WORD.map(lambda w: f"[{w}](https://example.com/{w})"),
        st.just("https://example.com/path?q=1"),
        WORD.map(lambda w: f"@[{w} Doe](accountid:{ACCOUNT})"),
    ),
    min_size=1,
    max_size=6,
).map(" ".join)


@st.composite
def md_list(draw: st.DrawFn, ordered: bool, alt: bool = False, depth: int = 0) -> str:
    # A nested ordered list must start at 1 to interrupt its item's paragraph.
    start = draw(st.sampled_from([1, 1, 4])) if depth == 0 else 1
    lines = []
    for n in range(draw(st.integers(1, 3))):
        marker = f"{start + n}{')' if alt else '.'} " if ordered else ("* " if alt else "- ")
        lines.append(marker + draw(MD_INLINE))
        if depth < 2 and draw(st.booleans()):
            nested = draw(md_list(draw(st.booleans()), depth=depth + 1))
            lines.extend(" " * len(marker) + ln for ln in nested.split("\n"))
    return "\n".join(lines)


@st.composite
def md_documents(draw: st.DrawFn) -> str:
    blocks: list[str] = []
    previous: tuple[bool, bool] | None = None  # (ordered, alternate markers) of a list
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["p", "h", "list", "code", "quote", "rule"]))
        if kind == "list":
            ordered = draw(st.booleans())
            # Mirrors the renderer: a list right after one of its kind switches markers.
            alt = previous is not None and previous[0] == ordered and not previous[1]
            blocks.append(draw(md_list(ordered, alt)))
            previous = (ordered, alt)
            continue
        previous = None
        if kind == "p":
            blocks.append("\n".join(draw(st.lists(MD_INLINE, min_size=1, max_size=3))))
        elif kind == "h":
            blocks.append("#" * draw(st.integers(1, 6)) + " " + draw(MD_INLINE))
        elif kind == "code":
            lang = draw(st.sampled_from(["", "python", "sql"]))
            body = "\n".join(draw(st.lists(CODE_LINE, max_size=3)))
            blocks.append(f"```{lang}\n{body}\n```")
        elif kind == "quote":
            lines = draw(st.lists(MD_INLINE, min_size=1, max_size=2))
            blocks.append("\n".join("> " + ln for ln in lines))
        else:
            blocks.append("---")
    return "\n\n".join(blocks)


MARKDOWN_PIECES = [*"ab1 *_~`[]()<>#!&|\\-+=.:\n@\t", "\n\n", "- ", "1. ", "2) ", "> ", "```"]
MARKDOWN_PIECES += ["    ", "https://x.io/a", "@[N](accountid:7)", "&amp;", "**", "é", "中", "😀"]
MARKDOWN_PIECES += ["| a | b |\n| - | - |\n", "[t](u)", "<https://a.b/c>", "![i](j)", "\\\n"]
MARKDOWN_PIECES += ["  \n", "# ", "---", "[r]: /x\n"]
MARKDOWNISH = st.lists(st.sampled_from(MARKDOWN_PIECES), max_size=40).map("".join)

JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
CONTAINER_TYPES = (
    "doc paragraph heading bulletList orderedList listItem blockquote panel table tableRow"
    " tableCell tableHeader expand taskList taskItem layoutSection mediaSingle whatever"
).split()
LEAF_TYPES = "hardBreak rule mention emoji date status inlineCard media mystery".split()
SAFE_WORD = st.text(string.ascii_letters, min_size=1, max_size=6)


def _random_node(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(CONTAINER_TYPES), "content": st.lists(children, max_size=3)},
        optional={"attrs": JSONISH, "marks": JSONISH},
    )


RANDOM_TREES = st.recursive(
    st.one_of(
        st.builds(lambda w, m: {"type": "text", "text": w, "marks": m}, SAFE_WORD, JSONISH),
        st.fixed_dictionaries({"type": st.sampled_from(LEAF_TYPES)}, optional={"attrs": JSONISH}),
    ),
    _random_node,
    max_leaves=25,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _texts(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "text" else []
    return own + [x for child in node.get("content", []) for x in _texts(child)]


@pytest.mark.slow
class TestRoundTripProperties:
    @PROPERTY
    @given(ADF_DOCS)
    def test_grammar_documents_survive_markdown(self, document: dict[str, Any]) -> None:
        assert_adf_round_trip(document)

    @PROPERTY
    @given(md_documents())
    def test_ordinary_markdown_comes_back_unchanged(self, source: str) -> None:
        result = adf2md(md2adf(source))
        normalise = "\n".join(line.rstrip() for line in source.strip().split("\n"))
        assert result == normalise

    @PROPERTY
    @given(MARKDOWNISH)
    def test_any_markdown_is_stable_after_one_conversion(self, source: str) -> None:
        first = markdown_to_adf(source)
        if first is not None:
            assert_valid_adf(first)
            assert markdown_to_adf(adf2md(first)) == first

    @PROPERTY
    @given(RANDOM_TREES)
    def test_arbitrary_trees_never_crash_or_lose_text(self, tree: dict[str, Any]) -> None:
        markdown = adf_to_markdown(tree)
        text = adf_to_text(tree)
        assert isinstance(markdown, str)
        for word in _texts(tree):
            assert word in text and word in markdown


# Text that exercises every escaping rule of a line: Markdown punctuation, list and heading
# openers, link definitions, entities, blanks of every kind at both ends.
LINE_TEXT = st.text(
    alphabet=st.sampled_from(list("ab1.)#>-+=*_~`[]!<&|\\:( \t\u00a0\u2003x")), max_size=24
)


class TestPlainLineShortPath:
    """A paragraph or heading holding one unmarked line takes a short path in ``adf.py``;
    it must give exactly what the general inline renderer gives."""

    @PROPERTY
    @given(LINE_TEXT)
    def test_paragraph_matches_the_general_renderer(self, text: str) -> None:
        from ticketbridge.connectors.jira.adf_render import inline_lines

        node = {"type": "text", "text": text}
        general = "\n".join(inline_lines([node]))
        assert adf_to_markdown(doc({"type": "paragraph", "content": [node]})) == general

    @PROPERTY
    @given(LINE_TEXT, st.integers(1, 6))
    def test_heading_matches_the_general_renderer(self, text: str, level: int) -> None:
        # A second, empty text node (it renders as nothing) keeps the heading off the short
        # path, so this compares the two paths on the same line.
        general = adf_to_markdown(doc(h(level, t(text), t(""))))
        assert adf_to_markdown(doc(h(level, text))) == general

    @PROPERTY
    @given(LINE_TEXT, st.sampled_from(["bulletList", "orderedList"]))
    def test_list_item_matches_the_general_renderer(self, text: str, kind: str) -> None:
        # A second, empty paragraph (it renders as nothing) keeps the item off the short path.
        def item(*blocks: dict[str, Any]) -> dict[str, Any]:
            return {"type": kind, "content": [{"type": "listItem", "content": list(blocks)}]}

        general = adf_to_markdown(doc(item(p(text), {"type": "paragraph", "content": []})))
        assert adf_to_markdown(doc(item(p(text)))) == general


RUN_TEXT = st.text(
    alphabet=st.sampled_from(list("ab1.)#>-+=*_~`[]!<&|\\:( \t\u00a0x")), max_size=10
)
RUN_MARKS = st.sampled_from(
    [(), (), ("strong",), ("em",), ("strike",), ("underline",), ("code",), ("strong", "em")]
)


@st.composite
def one_line_runs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Inline content on one line: text with zero, one or two marks, links (some to their
    own text), mentions and emoji, touching in any order."""
    nodes: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["text", "text", "link", "url", "mention", "emoji"]))
        if kind == "mention":
            nodes.append(mention(draw(st.sampled_from(["Ann", "@Bo [x]", ""]))))
        elif kind == "emoji":
            nodes.append({"type": "emoji", "attrs": {"shortName": ":x:", "text": "⚠️"}})
        elif kind == "url":
            nodes.append(t("https://e.io/p", href="https://e.io/p"))
        else:
            href = draw(st.sampled_from(["https://e.io/p", "a b(c"])) if kind == "link" else None
            found: list[dict[str, Any]] = [{"type": m} for m in draw(RUN_MARKS)]
            if href is not None:
                found.append({"type": "link", "attrs": {"href": href}})
            node: dict[str, Any] = {"type": "text", "text": draw(RUN_TEXT)}
            if found:
                node["marks"] = found
            nodes.append(node)
    return nodes


class TestOnePassParagraph:
    """``paragraph_line`` renders common one-line paragraphs in one pass and declines the
    rest; whatever it renders must be exactly what the general inline renderer gives."""

    @PROPERTY
    @given(one_line_runs())
    def test_matches_the_general_renderer(self, nodes: list[dict[str, Any]]) -> None:
        from ticketbridge.connectors.jira.adf_render import inline_lines, paragraph_line

        line = paragraph_line(nodes)
        if line is not None:
            assert line == "\n".join(inline_lines(nodes))

    def test_the_seeded_paragraph_takes_the_one_pass_path(self) -> None:
        from ticketbridge.connectors.jira.adf_render import paragraph_line

        nodes = [
            t("Reported by "),
            mention("Zoë Okafor"),
            t(" — see the "),
            t("runbook", href="https://example.com/runbook"),
            t(" for details. "),
            t("Urgent", "strong"),
            {"type": "emoji", "attrs": {"shortName": ":warning:", "text": "⚠️"}},
        ]
        assert paragraph_line(nodes) == (
            f"Reported by @[Zoë Okafor](accountid:{ACCOUNT}) — see the "
            "[runbook](https://example.com/runbook) for details. **Urgent**⚠️"
        )
