"""Per-document passage and sentence tables as small integer arrays, and the index's tables made from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.index.format import IndexArrays, IndexedDocument
from qa.index.store import IndexData
from qa.ingest.corpus import Document
from qa.text.passages import Passage, Sentence, chunk_document
from qa.text.sentences import SentenceSplitter

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktParameters

# Columns of DocTables.sentences and DocTables.passages.
S_START, S_END, S_SECTION = 0, 1, 2
P_START, P_END, P_SECTION, P_FIRST, P_LAST = 0, 1, 2, 3, 4


# Section columns hold positions in `sections` (-1: no section), numbered in order of first use by the
# sentences, then the passages; passages' first and last count sentences within the document.
@dataclass
class DocTables:
    """One document's share of the index, either carried over or freshly chunked."""

    record: IndexedDocument
    sections: list[str]
    sentences: np.ndarray  # int64 rows: start, end, section
    passages: np.ndarray  # int64 rows: start, end, section, first, last
    p_vectors: np.ndarray | None = None
    s_vectors: np.ndarray | None = None

    def section(self, k: int) -> str | None:
        """The name of section position k (None for -1)."""
        return None if k < 0 else self.sections[k]


def from_chunks(record: IndexedDocument, sentences: Sequence[Sentence], passages: Sequence[Passage]) -> DocTables:
    """The tables of a freshly chunked document."""
    local: dict[str, int] = {}
    sec = lambda s: -1 if s is None else local.setdefault(s, len(local))
    s_rows = [(s.start, s.end, sec(s.section)) for s in sentences]
    p_rows = [(p.start, p.end, sec(p.section), p.first, p.last) for p in passages]
    return DocTables(
        record,
        list(local),
        np.array(s_rows, dtype=np.int64).reshape(-1, 3),
        np.array(p_rows, dtype=np.int64).reshape(-1, 5),
    )


def chunk_documents(
    fresh: dict[str, Document], params: PunktParameters, max_chars: int, overlap: int
) -> dict[str, DocTables]:
    """Each document split into sentences (with the splitter's params) and passages; fresh is emptied as it goes,
    so a document's blocks go once it is chunked."""
    splitter = SentenceSplitter(params)
    tables = {}
    for doc_id in list(fresh):
        doc = fresh.pop(doc_id)
        sentences, passages = chunk_document(doc, splitter, max_chars, overlap)
        record = IndexedDocument(doc_id, doc.title, doc.format, doc.sha256, doc.text)
        tables[doc_id] = from_chunks(record, sentences, passages)
    return tables


def split_old(old: IndexData) -> dict[str, DocTables]:
    """Per-document tables of an existing index (vectors as views of its arrays), keyed by doc_id."""
    a = old.arrays
    out = {}
    p_bounds = np.searchsorted(a.p_doc, np.arange(len(old.documents) + 1))
    s_bounds = np.searchsorted(a.s_doc, np.arange(len(old.documents) + 1))
    for i, record in enumerate(old.documents):
        p0, p1, s0, s1 = p_bounds[i], p_bounds[i + 1], s_bounds[i], s_bounds[i + 1]
        s_sec, p_sec = a.s_section[s0:s1], a.p_section[p0:p1]
        # Global section ids -> positions in the document's own list, in order of first use.
        used = np.concatenate([s_sec, p_sec]).astype(np.int64)
        ids, first = np.unique(used[used >= 0], return_index=True)
        rank = np.empty(len(ids), dtype=np.int64)
        rank[np.argsort(first)] = np.arange(len(ids))
        lut = np.append(rank, -1)  # -1 (no section) maps to the last entry

        def local(col: np.ndarray, ids: np.ndarray = ids, lut: np.ndarray = lut) -> np.ndarray:
            return lut[np.where(col >= 0, np.searchsorted(ids, col), -1)]

        sentences = np.stack([a.s_start[s0:s1], a.s_end[s0:s1], local(s_sec)], axis=1).astype(np.int64)
        p_cols = [a.p_start[p0:p1], a.p_end[p0:p1], local(p_sec), a.p_first[p0:p1] - s0]
        passages = np.stack([*p_cols, a.p_last[p0:p1] - s0], axis=1).astype(np.int64)
        names = [old.sections[j] for j in ids[np.argsort(first)].tolist()]
        out[record.doc_id] = DocTables(
            record, names, sentences, passages, old.passage_vectors[p0:p1], old.sentence_vectors[s0:s1]
        )
    return out


def index_arrays(docs: Sequence[DocTables]) -> tuple[IndexArrays, list[str]]:
    """The index's passage and sentence tables and section names, documents in the given order."""
    sections: dict[str, int] = {}
    a = IndexArrays.empty(sum(len(d.passages) for d in docs), sum(len(d.sentences) for d in docs))
    p = s = 0
    for i, d in enumerate(docs):
        lut = np.array([sections.setdefault(n, len(sections)) for n in d.sections] + [-1], dtype=np.int32)
        sen, pas = d.sentences, d.passages
        s1, p1 = s + len(sen), p + len(pas)
        a.s_doc[s:s1] = i
        a.s_start[s:s1], a.s_end[s:s1] = sen[:, S_START], sen[:, S_END]
        a.s_section[s:s1] = lut[sen[:, S_SECTION]]
        a.p_doc[p:p1] = i
        a.p_start[p:p1], a.p_end[p:p1] = pas[:, P_START], pas[:, P_END]
        a.p_section[p:p1] = lut[pas[:, P_SECTION]]
        a.p_first[p:p1], a.p_last[p:p1] = pas[:, P_FIRST] + s, pas[:, P_LAST] + s
        p, s = p1, s1
    return a, list(sections)
