"""The index's on-disk format: the names of its files and the typed records they hold."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
ARRAYS = "arrays.npz"
PASSAGE_VECTORS = "passage_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
PUNKT = "punkt.json"
SECTIONS = "sections.json"
DENSE_FILE = "dense.faiss"
BM25_DIR = "bm25"


# A dataclass rather than typed accessors over the JSON dicts: with slots one costs about a quarter of the
# dict it replaces (no per-object __dict__ nor hash table), and there is one per document, not per passage,
# so even at 10^6 passages the texts, not these records, are what documents.jsonl costs in memory.
@dataclass(slots=True)
class IndexedDocument:
    """One document as documents.jsonl holds it: its text is what citation offsets index."""

    doc_id: str
    title: str
    format: str
    sha256: str
    text: str

    @classmethod
    def from_dict(cls, d: dict) -> IndexedDocument:
        """The record of one line of documents.jsonl."""
        return cls(d["doc_id"], d["title"], d["format"], d["sha256"], d["text"])

    def to_dict(self) -> dict:
        """The JSON object of one line of documents.jsonl (keys in the file's order)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "format": self.format,
            "sha256": self.sha256,
            "text": self.text,
        }


@dataclass
class IndexArrays:
    """The passage (p_*) and sentence (s_*) tables of arrays.npz, one row per passage or sentence.

    *_doc are positions in the document list, *_section positions in the section list (-1: none);
    p_first and p_last bound a passage's sentences [first, last) over the whole index.
    """

    p_doc: np.ndarray
    p_start: np.ndarray
    p_end: np.ndarray
    p_section: np.ndarray
    p_first: np.ndarray
    p_last: np.ndarray
    s_doc: np.ndarray
    s_start: np.ndarray
    s_end: np.ndarray
    s_section: np.ndarray

    @classmethod
    def empty(cls, passages: int, sentences: int) -> IndexArrays:
        """Uninitialised tables of the given sizes: offsets as int64, positions as int32."""
        return cls(
            **{
                name: np.empty(
                    passages if name[0] == "p" else sentences,
                    dtype=np.int64 if name.endswith(("start", "end")) else np.int32,
                )
                for name in ARRAY_NAMES
            }
        )

    @classmethod
    def from_dict(cls, arrays: dict[str, np.ndarray]) -> IndexArrays:
        """The tables from arrays named as in arrays.npz (an open npz file will do)."""
        return cls(**{name: arrays[name] for name in ARRAY_NAMES})

    def to_dict(self) -> dict[str, np.ndarray]:
        """The arrays by name, in the order arrays.npz stores them."""
        return {name: getattr(self, name) for name in ARRAY_NAMES}


ARRAY_NAMES = tuple(f.name for f in fields(IndexArrays))


@dataclass
class Manifest:
    """What manifest.json says about an index; the fields in the order the file lists them."""

    format_version: int
    index_version: str
    built_at: str
    model: dict  # name, path, fingerprint, dimension
    settings: dict  # the index key (qa.index.key): a build whose key differs rebuilds, and loading refuses
    chunking: dict  # max_chars, overlap, sentences
    counts: dict  # documents, passages, sentences
    documents: dict[str, dict]  # doc_id -> sha256, title, passages, sentences
    versions: dict[str, str]
    dense_index: str = "flat"
    unreadable: dict[str, dict] = field(default_factory=dict)  # doc_id -> sha256, problem
    files: dict[str, int] = field(default_factory=dict)  # every other file of the index, and its size
    sha256: dict[str, str] = field(default_factory=dict)  # absent in indexes written before it was recorded
    shards: list[str] = field(default_factory=list)  # a sharded index's shard folders (qa.index.shards)

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        """The manifest of a parsed manifest.json (KeyError or TypeError when it lacks a field it needs)."""
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    def to_dict(self) -> dict:
        """The JSON object of manifest.json (json.dumps(..., indent=2) of it is the file)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if not self.shards:
            del out["shards"]  # an ordinary index's manifest is as it always was
        return out
