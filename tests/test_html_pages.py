"""Saved real-world article pages: the indexed text holds each article and none of its page chrome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.ingest.corpus import Document, read_document

PAGES = Path(__file__).parent / "fixtures" / "html"
EXPECTED = {k: v for k, v in json.loads((PAGES / "expected.json").read_text(encoding="utf-8")).items() if k[0] != "_"}


def indexed_text(doc: Document) -> str:
    """What gets indexed: the heading and body blocks (chrome and duplicates are not)."""
    return "\n".join(doc.text[b.start : b.end] for b in doc.blocks if b.kind in ("heading", "body"))


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def page(request) -> tuple[Document, dict]:
    return read_document(PAGES / request.param, request.param), EXPECTED[request.param]


def test_the_fixtures_are_full_pages():
    assert len(EXPECTED) >= 4
    for name in EXPECTED:
        html = (PAGES / name).read_text(encoding="utf-8")
        assert len(html) > 4500 and "footer" in html.lower()


def test_every_article_paragraph_is_indexed(page):
    doc, expected = page
    text = indexed_text(doc)
    assert [phrase for phrase in expected["article"] if phrase not in text] == []


def test_no_page_chrome_is_indexed(page):
    doc, expected = page
    text = indexed_text(doc)
    assert [phrase for phrase in expected["chrome"] if phrase in text] == []


def test_the_title_and_sections_are_the_articles_headings(page):
    doc, expected = page
    headings = [" ".join(doc.text[b.start : b.end].split()) for b in doc.blocks if b.kind == "heading"]
    assert doc.title == expected["title"]
    assert set(expected["sections"]) <= set(headings)


def test_a_related_teaser_about_bells_palsy_is_not_indexed():
    # The health page's "Related articles" teaser is about Bell's palsy, a topic its article only names once.
    name = "health-hemifacial-spasm.html"
    text = indexed_text(read_document(PAGES / name, name))
    assert text.count("Bell's palsy") == 1 and "steroids" not in text
