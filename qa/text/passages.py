"""Sentences and passages of a document: runs of consecutive sentences within one section."""

from __future__ import annotations

from dataclasses import dataclass

from qa.config import DEFAULT_MAX_CHARS, DEFAULT_OVERLAP
from qa.ingest.corpus import Document, heading_text
from qa.text.sentences import SentenceSplitter

__all__ = ["DEFAULT_MAX_CHARS", "DEFAULT_OVERLAP", "Passage", "Sentence", "chunk_document"]


@dataclass
class Sentence:
    """A sentence: offsets into its document's text and the section it sits in."""

    start: int
    end: int
    section: str | None


@dataclass
class Passage:
    """Consecutive sentences [first, last) of one section, with offsets spanning them."""

    start: int
    end: int
    section: str | None
    first: int
    last: int


def chunk_document(
    doc: Document,
    splitter: SentenceSplitter,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap: int = DEFAULT_OVERLAP,
) -> tuple[list[Sentence], list[Passage]]:
    """Split a document's indexed blocks into sentences and group them into passages."""
    sentences: list[Sentence] = []
    passages: list[Passage] = []
    section: str | None = None
    run: list[int] = []  # sentence indices of the current unbroken run

    def flush() -> None:
        passages.extend(_pack(sentences, run, max_chars, overlap))
        run.clear()

    for block in doc.blocks:
        if block.kind == "heading":
            flush()
            section = heading_text(doc.text[block.start : block.end]) or None
        elif block.kind == "body":
            for start, end in splitter.split(doc.text, block.start, block.end):
                run.append(len(sentences))
                sentences.append(Sentence(start, end, section))
        else:
            flush()  # a skipped block breaks the run so passage text stays contiguous content
    flush()
    return sentences, passages


def _pack(sentences: list[Sentence], run: list[int], max_chars: int, overlap: int) -> list[Passage]:
    """Greedy packing of a run of sentences into passages of at most max_chars (one sentence at least)."""
    out: list[Passage] = []
    i = 0
    while i < len(run):
        j = i + 1
        start = sentences[run[i]].start
        while j < len(run) and sentences[run[j]].end - start <= max_chars:
            j += 1
        first, last = sentences[run[i]], sentences[run[j - 1]]
        out.append(Passage(start, last.end, first.section, run[i], run[j - 1] + 1))
        if j >= len(run):
            break
        i = max(i + 1, j - overlap)
    return out
