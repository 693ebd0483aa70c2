"""HTML main-content extraction with heading spans, and PDF text extraction."""

import pytest

from qa.errors import CorpusError
from qa.ingest.corpus import read_document
from qa.ingest.extract import extract_html, extract_html_tags, extract_pdf
from tests.helpers import make_pdf

PAGE = """<!doctype html>
<html><head><title>Site title</title><style>p { color: red }</style></head>
<body>
<nav><a href="/">Home</a> <a href="/x">Other page</a></nav>
<header>Site banner</header>
<main>
  <h1>Tide  Tables</h1>
  <p>The tide rises <b>twice</b> a day &amp; falls twice.</p>
  <script>var tracking = "never indexed";</script>
  <div hidden>Hidden text</div>
  <span aria-hidden="true">Icon label</span>
  <h2>Spring tides</h2>
  <ul><li>First item</li><li>Second item</li></ul>
  <p>Line one<br>Line two</p>
</main>
<footer>Copyright footer</footer>
</body></html>"""


def test_html_keeps_main_content_only():
    text, _ = extract_html(PAGE)
    assert text.split("\n\n") == [
        "Tide Tables",
        "The tide rises twice a day & falls twice.",
        "Spring tides",
        "First item",
        "Second item",
        "Line one\nLine two",  # a <br> breaks the line, inside its paragraph
    ]
    for gone in ("Site title", "color", "Home", "banner", "tracking", "Hidden", "Icon", "footer"):
        assert gone not in text


def test_html_heading_spans_point_at_heading_text():
    text, headings = extract_html(PAGE)
    assert [text[s:e].strip() for s, e in headings] == ["Tide Tables", "Spring tides"]


def test_html_without_main_uses_whole_body_and_inline_spacing():
    text, headings = extract_html("<body><p>A <em>quick</em> fox</p><p>jumps<i>over</i></p></body>")
    assert text == "A quick fox\n\njumpsover"
    assert headings == []


def test_html_unclosed_tags_do_not_crash():
    broken = "<div><p>Open paragraph<h3>Heading<p>After heading</div></span>"
    text, _ = extract_html(broken)
    assert text.split("\n\n")[0] == "Open paragraph" and text.endswith("After heading")
    text, _ = extract_html_tags(broken)
    assert text.split("\n\n") == ["Open paragraph", "Heading", "After heading"]


@pytest.mark.parametrize("html", ["<html><body><div>Only a div of text</div></body></html>", "<body>Bare text</body>"])
def test_html_that_trafilatura_finds_no_article_in_is_read_by_its_tags(html):
    text, _ = extract_html(html)
    assert text == extract_html_tags(html)[0] != ""


def test_html_document_blocks_and_title(tmp_path):
    path = tmp_path / "tides.html"
    path.write_text(PAGE, encoding="utf-8")
    doc = read_document(path, "tides.html")
    assert doc.format == "html"
    assert doc.title == "Tide Tables"
    assert [(b.kind, doc.text[b.start : b.end]) for b in doc.blocks][:3] == [
        ("heading", "Tide Tables"),
        ("body", "The tide rises twice a day & falls twice."),
        ("heading", "Spring tides"),
    ]


def test_pdf_text_of_every_page():
    text = extract_pdf(make_pdf(["Lighthouses guide ships at night.", "Fog horns warn ships in fog."]))
    assert text.split("\n\n") == ["Lighthouses guide ships at night.", "Fog horns warn ships in fog."]


def test_pdf_document(tmp_path):
    path = tmp_path / "guide.pdf"
    path.write_bytes(make_pdf(["Keepers wind the clockwork every night."]))
    doc = read_document(path, "guide.pdf")
    assert doc.format == "pdf"
    assert doc.text == "Keepers wind the clockwork every night."
    assert [b.kind for b in doc.blocks] == ["body"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.4\n%%EOF", "cannot read PDF"),
        (make_pdf(["Some text"])[:200], "PDF"),
        (make_pdf(["  "]), "no extractable text"),
    ],
)
def test_damaged_or_textless_pdf_is_a_corpus_error(data, message):
    with pytest.raises(CorpusError, match=message):
        extract_pdf(data)
