"""Text extraction from HTML (main content only) and PDF."""

from __future__ import annotations

import io
from html.parser import HTMLParser

from qa.errors import CorpusError
from qa.ingest.article import article_blocks, join_blocks

_SKIP = {
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "button",
    "select",
    "head",
    "title",
    "canvas",
    "object",
    "embed",
    "dialog",
    "menu",
}
_BLOCK = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "address",
    "br",
    "hr",
    "td",
    "th",
    "body",
    "html",
}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "track", "wbr", "param"}


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.skip_depth = 0
        self.stack: list[str] = []
        self.headings: list[tuple[int, int]] = []
        self.heading_start: int | None = None
        self.pending_break = False

    def _emit(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def _break(self) -> None:
        self.pending_break = True

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _VOID:
            if tag in _BLOCK:
                self._break()
            return
        self.stack.append(tag)
        if (
            self.skip_depth
            or tag in _SKIP
            or any(k == "hidden" or (k == "aria-hidden" and v == "true") for k, v in attrs)
        ):
            self.skip_depth += 1
            return
        if tag in _BLOCK or tag in _HEADINGS:
            self._break()
        if tag in _HEADINGS:
            self.heading_start = -1  # set at the first text inside

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in self.stack:
            return
        while self.stack:
            open_tag = self.stack.pop()
            if self.skip_depth:
                self.skip_depth -= 1
                if open_tag == tag:
                    return
                continue
            if open_tag in _HEADINGS and self.heading_start is not None:
                if self.heading_start >= 0:
                    self.headings.append((self.heading_start, self.length))
                self.heading_start = None
            if open_tag in _BLOCK or open_tag in _HEADINGS:
                self._break()
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        text = " ".join(data.split())
        if not text:
            if data and self.parts and not self.pending_break and not self.parts[-1].endswith((" ", "\n")):
                self._emit(" ")
            return
        if self.pending_break and self.length:
            self._emit("\n\n")
        elif data[:1].isspace() and self.parts and not self.parts[-1].endswith((" ", "\n")):
            self._emit(" ")
        self.pending_break = False
        if self.heading_start == -1:
            self.heading_start = self.length
        self._emit(text)
        if data[-1:].isspace():
            self._emit(" ")


def _main_content(html: str) -> str:
    """The <main> or <article> element when the page has one, else the whole page."""
    lower = html.lower()
    for tag in ("main", "article"):
        start = lower.find(f"<{tag}")
        end = lower.rfind(f"</{tag}>")
        if start != -1 and end > start:
            return html[start : end + len(tag) + 3]
    return html


def extract_html(html: str) -> tuple[str, list[tuple[int, int]]]:
    """The main content of an HTML page, one block per paragraph, with the spans of its headings.

    trafilatura finds the article (qa.ingest.article); a page where it finds none is read by the tag-based
    extractor below, so a bare fragment of HTML is still indexed.
    """
    try:
        blocks = article_blocks(html)
    except Exception:  # lxml and trafilatura raise many types on broken markup; the tag parser copes
        blocks = []
    if blocks:
        return join_blocks(blocks)
    return extract_html_tags(html)


def extract_html_tags(html: str) -> tuple[str, list[tuple[int, int]]]:
    """Readable text of an HTML page's <main> or <article> (else all of it) by its tags, with heading spans."""
    parser = _Extractor()
    try:
        parser.feed(_main_content(html))
        parser.close()
    except Exception as exc:  # html.parser is lenient; this guards its rare assertion errors
        raise CorpusError(f"cannot parse HTML: {exc}") from exc
    text = "".join(parser.parts)
    # Trailing spaces inside a heading span are trimmed by the block segmenter anyway.
    return text, parser.headings


def extract_pdf(data: bytes) -> str:
    """The text of every page of a PDF, pages separated by blank lines."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many types for damaged files
        raise CorpusError(f"cannot read PDF: {exc}") from exc
    text = "\n\n".join(page.strip() for page in pages)
    if not text.strip():
        raise CorpusError("PDF has no extractable text (scanned images?)")
    return text
