"""The main content of an HTML page with trafilatura: article text and headings, without the page's chrome.

trafilatura tells the article from navigation, cookie banners, related-article teasers, comments and footers
(docs/DESIGN.md, "HTML pages", measured on tests/fixtures/html/). Its XML output is turned here into text with
one block per paragraph, list item or table row, and the spans of the headings in that text.
"""

from __future__ import annotations

import re
from functools import cache

# Blocks of trafilatura's XML that become blocks of text; anything else inside them is inline text.
_BLOCKS = frozenset({"p", "head", "list", "item", "quote", "table", "row", "code", "div"})
# Hidden from readers, so never indexed; trafilatura itself would keep their text.
_HIDDEN = '//noscript|//template|//*[@hidden]|//*[@aria-hidden="true"]'
# Widgets named for what they are (class, id): trafilatura kept a newsletter box inside an article's text.
_WIDGET_WORDS = frozenset({"newsletter", "promo", "signup", "subscribe", "cookie", "cookies", "consent", "gdpr"})
_NAMED = "//*[@class or @id or @data-component]"
_NEVER_DROPPED = frozenset({"html", "body", "main", "article"})  # a body class "cookie-consent-shown" is common
_WORD = re.compile(r"[a-z]+")


@cache
def _config():
    """trafilatura's settings, but a short page is extracted too, not replaced by the whole page's text."""
    from trafilatura.settings import use_config

    config = use_config()
    # Below this many characters trafilatura falls back to every text of the page, navigation included.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    return config


def _inline(el) -> str:
    """The text of an element without its block children (their tails kept); a line break stays a newline."""
    parts = [el.text or ""]
    for child in el:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag not in _BLOCKS:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _clean(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())


def _walk(el, out: list[tuple[str, bool]]) -> None:
    """Append (text, is_heading) for el and the blocks inside it, in reading order."""
    if el.tag == "table":
        for row in el.iter("row"):
            cells = (_clean(_inline(cell)).replace("\n", " ") for cell in row.iter("cell"))
            out.append((" | ".join(c for c in cells if c), False))
        return
    own = _clean(_inline(el))
    if own:
        out.append((own, el.tag == "head"))
    for child in el:
        if child.tag in _BLOCKS:
            _walk(child, out)


def _tree(html: str):
    """The page parsed, with what readers never see removed."""
    import lxml.html

    tree = lxml.html.document_fromstring(html)
    for el in tree.xpath(_HIDDEN):
        el.drop_tree()
    for el in tree.xpath(_NAMED):
        names = " ".join(el.get(a) or "" for a in ("class", "id", "data-component")).lower()
        if el.tag not in _NEVER_DROPPED and _WIDGET_WORDS.intersection(_WORD.findall(names)):
            el.drop_tree()
    return tree


def article_blocks(html: str) -> list[tuple[str, bool]]:
    """(text, is_heading) for each block of the page's main content; empty when none is found."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(
        _tree(html),
        output_format="xml",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        with_metadata=True,
        fast=False,
        config=_config(),
    )
    if not xml:
        return []
    root = etree.fromstring(xml.encode("utf-8"))
    out: list[tuple[str, bool]] = []
    for main in root.iter("main"):
        for child in main:
            _walk(child, out)
    out = [(text, heading) for text, heading in out if text]
    title = " ".join((root.get("title") or "").split())
    # A headline outside the article body (news sites put it in a header) is still the page's title.
    if out and title and not out[0][1] and title not in out[0][0]:
        out.insert(0, (title, True))
    return out


def join_blocks(blocks: list[tuple[str, bool]]) -> tuple[str, list[tuple[int, int]]]:
    """The blocks as one text, separated by blank lines, and the (start, end) of each heading in it."""
    parts: list[str] = []
    headings: list[tuple[int, int]] = []
    length = 0
    for text, heading in blocks:
        if parts:
            parts.append("\n\n")
            length += 2
        if heading:
            headings.append((length, length + len(text)))
        parts.append(text)
        length += len(text)
    return "".join(parts), headings
