"""Document texts read from a memory-mapped documents.jsonl when asked for, not held by each process."""

from __future__ import annotations

import functools
import json
import mmap
from pathlib import Path

from qa.index.format import IndexedDocument

# Documents whose parsed text a process keeps: an answer reads the few documents its candidates come from,
# each several times, so a small cache saves nearly every parse.
TEXT_CACHE = 64


class DocumentTexts:
    """The lines of one documents.jsonl, mapped read-only, so that every worker shares one copy of the texts.

    The map is made when the index is read: a later build swaps in a new folder and unlinks this one's
    files, and the mapping keeps reading the files of the index it was opened with.
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._spans: list[tuple[int, int]] = []  # each line's start and end in the map
        self.text = functools.lru_cache(maxsize=TEXT_CACHE)(self._parse_text)

    def records(self) -> list[IndexedDocument]:
        """One record per line, whose text is read from the map when first used (each line parsed once here)."""
        records: list[IndexedDocument] = []
        start, end = 0, len(self._map)
        while start < end:
            stop = self._map.find(b"\n", start)
            stop = end if stop < 0 else stop
            d = json.loads(self._map[start:stop])
            records.append(StoredDocument(d["doc_id"], d["title"], d["format"], d["sha256"], self, len(records)))
            self._spans.append((start, stop))
            start = stop + 1
        return records

    def _parse_text(self, i: int) -> str:
        start, stop = self._spans[i]
        return json.loads(self._map[start:stop])["text"]


class StoredDocument(IndexedDocument):
    """A document of a loaded index whose text stays in the shared map until it is read."""

    __slots__ = ("_i", "_texts")

    def __init__(self, doc_id: str, title: str, format: str, sha256: str, texts: DocumentTexts, i: int) -> None:
        self.doc_id, self.title, self.format, self.sha256 = doc_id, title, format, sha256
        self._texts, self._i = texts, i

    @property
    def text(self) -> str:  # type: ignore[override]
        """The document's text, as citation offsets index it."""
        return self._texts.text(self._i)
