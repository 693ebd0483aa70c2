"""HTML extractors compared on the saved article pages of tests/fixtures/html (docs/DESIGN.md, "HTML pages").

python -m bench.quality.extractors

For each extractor: article phrases kept, chrome phrases leaked (navigation, cookie banners, related-article
teasers, comments, footers), sections found, in the text qa would index (after its own chrome filter), and
the median time per page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.common.data import REPO
from qa.ingest.corpus import segment
from qa.ingest.extract import extract_html, extract_html_tags

PAGES = REPO / "tests" / "fixtures" / "html"
RUNS = 5


def _trafilatura_default(html: str) -> tuple[str, list[tuple[int, int]]]:
    """trafilatura out of the box (plain text; its headings are not told apart from paragraphs)."""
    import trafilatura

    return trafilatura.extract(html) or "", []


EXTRACTORS: dict[str, Callable[[str], tuple[str, list[tuple[int, int]]]]] = {
    "tags (qa before: <main>/<article>, skip nav/header/footer/aside)": extract_html_tags,
    "trafilatura default (text output)": _trafilatura_default,
    "trafilatura as qa uses it (XML, fallbacks on, hidden and named widgets removed)": extract_html,
}


def _indexed(text: str, headings: list[tuple[int, int]]) -> tuple[str, list[str]]:
    blocks = segment(text, "html", headings)
    kept = "\n".join(text[b.start : b.end] for b in blocks if b.kind in ("heading", "body"))
    return kept, [" ".join(text[b.start : b.end].split()) for b in blocks if b.kind == "heading"]


def measure(extract: Callable[[str], tuple[str, list[tuple[int, int]]]], pages: dict, folder: Path = PAGES) -> dict:
    """Totals over the pages: phrases kept and leaked, sections found, median milliseconds per page."""
    kept = leaked = sections = articles = chromes = wanted_sections = 0
    times = []
    for name, expected in pages.items():
        html = (folder / name).read_text(encoding="utf-8")
        text, headings = extract(html)  # once before timing: imports and caches
        started = time.perf_counter()
        for _ in range(RUNS):
            extract(html)
        times.append((time.perf_counter() - started) / RUNS * 1000)
        indexed, found = _indexed(text, headings)
        kept += sum(p in indexed for p in expected["article"])
        leaked += sum(p in indexed for p in expected["chrome"])
        sections += sum(s in found for s in expected["sections"])
        articles += len(expected["article"])
        chromes += len(expected["chrome"])
        wanted_sections += len(expected["sections"])
    return {
        "article kept": f"{kept}/{articles}",
        "chrome leaked": f"{leaked}/{chromes}",
        "sections found": f"{sections}/{wanted_sections}",
        "ms per page (median)": round(statistics.median(times), 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Print the comparison table of the extractors on the saved pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=PAGES, help="a folder of pages with expected.json")
    pages_dir = parser.parse_args(argv).pages
    expected = json.loads((pages_dir / "expected.json").read_text(encoding="utf-8"))
    pages = {k: v for k, v in expected.items() if not k.startswith("_")}
    print(f"{len(pages)} pages: {', '.join(pages)}")
    print("| extractor | article kept | chrome leaked | sections found | ms per page (median) |")
    print("| --- | --- | --- | --- | --- |")
    for label, extract in EXTRACTORS.items():
        row = measure(extract, pages, pages_dir)
        print(f"| {label} | " + " | ".join(str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    main()
