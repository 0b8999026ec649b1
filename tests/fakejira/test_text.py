"""Plain text <-> ADF conversion used for v2 descriptions and text search."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ticketbridge.fakejira.text import adf_to_text, is_adf_doc, text_to_adf

LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20
)
PARAGRAPH = st.lists(LINE, min_size=1, max_size=3).map("\n".join)


class TestRoundTrip:
    @given(st.lists(PARAGRAPH, min_size=1, max_size=4))
    def test_paragraphs_and_line_breaks_survive(self, paragraphs: list[str]) -> None:
        text = "\n\n".join(paragraphs)
        doc = text_to_adf(text)
        assert is_adf_doc(doc) and doc["version"] == 1
        assert adf_to_text(doc) == text

    def test_empty_text_is_an_empty_document(self) -> None:
        assert text_to_adf("") == {"type": "doc", "version": 1, "content": []}
        assert adf_to_text(None) == ""


class TestFlattening:
    def test_rich_nodes(self) -> None:
        doc = {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "heading",
                    "attrs": {"level": 2},
                    "content": [{"type": "text", "text": "H"}],
                },
                {
                    "type": "bulletList",
                    "content": [
                        {
                            "type": "listItem",
                            "content": [
                                {"type": "paragraph", "content": [{"type": "text", "text": "one"}]}
                            ],
                        },
                        {
                            "type": "listItem",
                            "content": [
                                {"type": "paragraph", "content": [{"type": "text", "text": "two"}]}
                            ],
                        },
                    ],
                },
                {
                    "type": "orderedList",
                    "content": [
                        {
                            "type": "listItem",
                            "content": [
                                {
                                    "type": "paragraph",
                                    "content": [{"type": "text", "text": "first"}],
                                }
                            ],
                        }
                    ],
                },
                {"type": "codeBlock", "content": [{"type": "text", "text": "x = 1"}]},
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "mention", "attrs": {"id": "abc", "text": "@Zoë"}},
                        {"type": "text", "text": " see "},
                        {"type": "inlineCard", "attrs": {"url": "https://example.com"}},
                        {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
                    ],
                },
                {"type": "rule"},
            ],
        }
        assert adf_to_text(doc) == (
            "H\n\n* one\n* two\n\n1. first\n\nx = 1\n\n@Zoë see https://example.com😄\n\n----"
        )

    def test_shape_check(self) -> None:
        assert not is_adf_doc("text")
        assert not is_adf_doc({"type": "paragraph"})
        assert is_adf_doc({"type": "doc", "version": 1, "content": []})
