"""BM25 over passage terms (bm25s), with document frequencies for answer scoring."""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

# Anserini's BEIR settings, the defaults of every build; confirmed on the SciFact train split (docs/QUALITY.md).
K1, B = 0.9, 0.4
# Stems sharing this many first letters count as the same word for "does the corpus mention it".
PREFIX = 6
# Shorter words have too many indexed neighbours one typing error away ("cat": "car", "can") to guess which.
MIN_CORRECTED = 5
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Matrix entries (a document's distinct terms) scored and placed at a time when a BM25Builder finishes.
FINISH_ENTRIES = 262_144
# Entries a BM25Builder with a spill folder buffers (8 bytes each) before appending them to its files.
SPILL_ENTRIES = 262_144
# bm25s's names for the matrix files (BM25.save and BM25.load defaults), filled in place by BM25Builder.write.
DATA_FILE, INDICES_FILE = "data.csc.index.npy", "indices.csc.index.npy"
# Every file of a saved index (bm25s writes no non-occurrence array for the "lucene" method, nor a corpus).
BM25_FILES = (DATA_FILE, INDICES_FILE, "indptr.csc.index.npy", "vocab.index.json", "params.index.json")
IDS_FILE, TFS_FILE = "ids.int32", "tfs.int32"  # the spill files

# Written beside a shard's matrix: the whole corpus's document count and each of the shard's terms' document
# frequency in the whole corpus, so that idf(), correct() and the scores are those of one index of all shards.
CORPUS_FILE, CORPUS_DF_FILE = "corpus.json", "corpus_df.npy"

logging.getLogger("bm25s").setLevel(logging.WARNING)


@dataclass(frozen=True)
class CorpusStats:
    """What BM25 counts over a whole corpus: documents, their total length and each term's document frequency."""

    num_docs: int
    total_length: int
    df: dict[str, int]

    @classmethod
    def total(cls, parts: Iterable[CorpusStats]) -> CorpusStats:
        """The statistics of the corpus made of all the parts (shards)."""
        num_docs = total_length = 0
        df: Counter[str] = Counter()
        for part in parts:
            num_docs, total_length = num_docs + part.num_docs, total_length + part.total_length
            df.update(part.df)
        return cls(num_docs, total_length, dict(df))


def _fold(word: str) -> str:
    """A word without its accents (combining marks)."""
    if word.isascii():
        return word
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def _one_edit(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion of a letter away from word."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
        | {a + c + b for a, b in splits for c in _LETTERS}
    ) - {word}


class BM25Index:
    """A BM25 index of token lists, scored against all documents at once."""

    def __init__(self, model: bm25s.BM25) -> None:
        self.model = model
        indptr = np.asarray(model.scores["indptr"])
        self.df = np.diff(indptr)
        self.num_docs = int(model.scores["num_docs"])
        self.corpus_docs = self.num_docs  # the documents idf counts: all shards' when this is one of several
        self._prefixes: set[str] | None = None

    @classmethod
    def build(cls, token_lists: Iterable[list[str]], k1: float = K1, b: float = B) -> BM25Index:
        """Index the given documents (each a list of terms) with BM25 parameters k1 and b."""
        builder = BM25Builder(k1=k1, b=b)
        for tokens in token_lists:
            builder.add(tokens)
        return builder.finish()

    def save(self, path: Path) -> None:
        """Write the index into the folder `path`."""
        self.model.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> BM25Index:
        """Read an index written by save(); with mmap its score matrix stays in the files, shared between processes."""
        index = cls(bm25s.BM25.load(str(path), mmap=mmap, show_progress=False, verbosity=0))
        if (Path(path) / CORPUS_FILE).is_file():  # a shard: frequencies of the whole corpus
            index.corpus_docs = int(json.loads((Path(path) / CORPUS_FILE).read_text())["num_docs"])
            index.df = np.load(Path(path) / CORPUS_DF_FILE)
        return index

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every document for the query terms (zeros if none is known)."""
        ids = self.model.get_tokens_ids(query_terms)
        if not ids:
            return np.zeros(self.num_docs, dtype=np.float32)
        return np.asarray(self.model.get_scores_from_ids(ids), dtype=np.float32)

    def knows(self, term: str) -> bool:
        """Whether a term is indexed, or a word sharing its first PREFIX letters, or one a typing error away.

        "botulinum" is known from "botuline", "symtom" from "symptom", and accents are ignored ("Maiziere" /
        "Maizière"): questions are often typed without them.
        """
        if term in self.model.vocab_dict:
            return True
        if self._prefixes is None:
            folded = {_fold(t) for t in self.model.vocab_dict}
            self._prefixes = folded | {t[:PREFIX] for t in folded if len(t) >= PREFIX}
        folded = _fold(term)
        if folded in self._prefixes or (len(folded) >= PREFIX and folded[:PREFIX] in self._prefixes):
            return True
        return self.correct(term) != term

    def correct(self, term: str) -> str:
        """The term, or (unindexed, MIN_CORRECTED letters or more) the commonest indexed term one edit away."""
        vocab = self.model.vocab_dict
        if term in vocab or len(term) < MIN_CORRECTED or not term.isalpha() or not term.isascii():
            return term
        best, best_df = term, 0
        for candidate in _one_edit(term):
            i = vocab.get(candidate)
            if i is None or i >= len(self.df):
                continue
            df = int(self.df[i])
            if df > best_df or (df == best_df and candidate < best):
                best, best_df = candidate, df
        return best

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term; unseen terms get the highest value."""
        token_id = self.model.vocab_dict.get(term)
        df = 0 if token_id is None else int(self.df[token_id])
        return math.log(1 + (self.corpus_docs - df + 0.5) / (df + 0.5))


# The result is what bm25s's BM25(k1=k1, b=b).index() makes of the same token lists (its "lucene" method,
# an empty document as the one term ""), score for score and in the same saved format; only the term ids
# differ (first seen first, where bm25s numbers terms in set order). While adding it holds the vocabulary,
# 16 bytes per document and 8 bytes per (document, distinct term) entry: all of them, or with a spill folder
# at most spill_entries, the rest being in files there. finish() makes the matrix (8 bytes an entry) in
# memory; write() fills it straight into bm25s's .npy files, reading the entries back in slices.
class BM25Builder:
    """Builds a BM25Index one document at a time, keeping each document as term ids and counts, not strings."""

    def __init__(
        self, spill_dir: Path | None = None, spill_entries: int | None = None, k1: float = K1, b: float = B
    ) -> None:
        self.vocab: dict[str, int] = {}
        self.k1, self.b = k1, b
        self._ids = array("i")  # each document's distinct term ids, document after document
        self._tfs = array("i")  # how often each of those occurs in its document
        self._distinct = array("q")  # distinct terms per document
        self._lengths = array("q")  # terms per document
        self._spill_entries = SPILL_ENTRIES if spill_entries is None else spill_entries
        self._spill: Path | None = None
        self._closed = False
        if spill_dir is not None:
            # A folder of its own inside the caller's (a new index's temporary folder, removed if the build
            # dies): close() removes it, so it never becomes part of the index.
            self._spill = Path(tempfile.mkdtemp(prefix="bm25-spill-", dir=spill_dir))

    def __enter__(self) -> BM25Builder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the spill files, if any; the builder cannot finish after this."""
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)
            self._spill = None
        self._closed = True  # finishing now fails rather than miss the spilled entries

    def add(self, tokens: list[str]) -> None:
        """Append one document (its terms, repeats kept); an empty one still gets a row."""
        vocab = self.vocab
        counts = Counter(vocab.setdefault(t, len(vocab)) for t in tokens or [""])
        self._ids.extend(counts.keys())
        self._tfs.extend(counts.values())
        self._distinct.append(len(counts))
        self._lengths.append(len(tokens) or 1)
        if self._spill is not None and len(self._ids) >= self._spill_entries:
            self._flush()

    def _flush(self) -> None:
        """Append the buffered entries to the spill files and empty the buffers."""
        if self._spill is None or not self._ids:
            return  # without a spill folder everything stays in the buffers
        for name, buffer in ((IDS_FILE, self._ids), (TFS_FILE, self._tfs)):
            with open(self._spill / name, "ab") as fh:
                buffer.tofile(fh)
        self._ids, self._tfs = array("i"), array("i")  # new arrays, so the old allocations are freed

    def _read(self, name: str, e0: int, e1: int) -> np.ndarray:
        """Entries e0 to e1 of the term ids (IDS_FILE) or counts (TFS_FILE), from the buffers or the spill file."""
        if self._spill is None:
            return np.frombuffer(self._ids if name == IDS_FILE else self._tfs, dtype=np.int32)[e0:e1]
        return np.fromfile(self._spill / name, dtype=np.int32, count=e1 - e0, offset=e0 * 4)

    def _seal(self) -> tuple[np.ndarray, np.ndarray]:
        """Spill what is buffered; the matrix's column pointers (indptr) and each term's document frequency."""
        if self._closed:
            raise ValueError("this BM25Builder was already finished or closed")
        if not self._lengths:
            self.add([])
        self._flush()
        n_vocab = len(self.vocab)
        entries = int(np.frombuffer(self._distinct, dtype=np.int64).sum())
        df = np.zeros(n_vocab, dtype=np.int64)
        for e0 in range(0, entries, FINISH_ENTRIES):  # in slices: bincount copies its input as int64
            df += np.bincount(self._read(IDS_FILE, e0, min(entries, e0 + FINISH_ENTRIES)), minlength=n_vocab)
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return indptr, df

    def stats(self) -> CorpusStats:
        """This builder's documents' statistics, to be summed with other shards' (CorpusStats.total)."""
        _, df = self._seal()
        return CorpusStats(len(self._lengths), int(sum(self._lengths)), dict(zip(self.vocab, df.tolist(), strict=True)))

    def _weights(self, df: np.ndarray, corpus: CorpusStats | None) -> tuple[np.ndarray, float, np.ndarray]:
        """Each term's idf (float32), the average document length and the document frequencies they count:
        this builder's own, or the whole corpus's when it builds one shard of it."""
        if corpus is None:
            n_docs, avg_len = len(self._lengths), float(np.frombuffer(self._lengths, dtype=np.int64).mean())
        else:
            n_docs, avg_len = corpus.num_docs, corpus.total_length / corpus.num_docs
            df = np.array([corpus.df.get(term, 0) for term in self.vocab], dtype=np.int64)
        # math.log per term, as bm25s computes it, then float32 as it stores it.
        idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) for d in df.tolist()]).astype(np.float32)
        return idf, avg_len, df

    def _place(
        self, indptr: np.ndarray, idf: np.ndarray, avg_len: float, data: np.ndarray, indices: np.ndarray
    ) -> None:
        """Score every entry and put it in its column of `data` and `indices`, in document order."""
        n_docs = len(self._lengths)
        distinct = np.frombuffer(self._distinct, dtype=np.int64)
        lengths = np.frombuffer(self._lengths, dtype=np.int64)
        k1, b = self.k1, self.b
        heads = indptr[:-1].copy()  # next free slot of each term's column
        starts = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(distinct, out=starts[1:])
        d0 = 0
        while d0 < n_docs:  # whole documents, about FINISH_ENTRIES entries at a time
            d1 = max(d0 + 1, int(np.searchsorted(starts, starts[d0] + FINISH_ENTRIES, side="right")) - 1)
            e0, e1 = int(starts[d0]), int(starts[d1])
            rows = np.repeat(np.arange(d0, d1, dtype=np.int32), distinct[d0:d1])
            doc_len = np.repeat(lengths[d0:d1], distinct[d0:d1])
            cols, tf = self._read(IDS_FILE, e0, e1), self._read(TFS_FILE, e0, e1).astype(np.float64)
            # bm25s's float64 arithmetic, in its order: idf * tf / (k1 * (1 - b + b * len / avg) + tf).
            scores = (idf[cols] * (tf / (k1 * ((1 - b) + b * doc_len / avg_len) + tf))).astype(np.float32)
            # Each column lists its documents in order: place this slice's entries after the earlier ones.
            order = np.argsort(cols, kind="stable")
            sorted_cols = cols[order]
            first = np.searchsorted(sorted_cols, sorted_cols, side="left")
            slots = heads[sorted_cols] + (np.arange(len(order)) - first)
            data[slots], indices[slots] = scores[order], rows[order]
            present, counts = np.unique(sorted_cols, return_counts=True)
            heads[present] += counts
            d0 = d1

    def _model(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray) -> bm25s.BM25:
        """A bm25s model over the given matrix and this builder's vocabulary."""
        vocab = self.vocab
        if "" not in vocab:
            vocab[""] = len(indptr) - 1  # as bm25s adds it: a term of no document
        model = bm25s.BM25(k1=self.k1, b=self.b)
        model.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": len(self._lengths)}
        model.vocab_dict = vocab
        model.unique_token_ids_set = set(vocab.values())
        model.nonoccurrence_array = None
        return model

    def finish(self) -> BM25Index:
        """The index of every document added, in memory (a corpus of none is indexed as one empty document)."""
        indptr, df = self._seal()
        idf, avg_len, _ = self._weights(df, None)
        data = np.empty(int(indptr[-1]), dtype=np.float32)
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        self._place(indptr, idf, avg_len, data, indices)
        self.close()
        return BM25Index(self._model(data, indices, indptr))

    def write(self, folder: Path, corpus: CorpusStats | None = None) -> None:
        """Write the index of every document added into `folder` as BM25Index.save would, the matrix filled in place.

        With `corpus` (the statistics of all shards) it scores as one index of the whole corpus would, and
        records that corpus's document count and frequencies for idf() and correct().
        """
        indptr, df = self._seal()
        idf, avg_len, corpus_df = self._weights(df, corpus)
        model = self._model(np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int32), indptr)
        # bm25s writes the parameters, vocabulary and indptr exactly as its save does; the two matrix files it
        # writes empty are then replaced by memory-mapped ones of the same dtypes, filled slice by slice.
        model.save(str(folder), show_progress=False)
        n = int(indptr[-1])
        data = np.lib.format.open_memmap(folder / DATA_FILE, mode="w+", dtype=np.float32, shape=(n,))
        indices = np.lib.format.open_memmap(folder / INDICES_FILE, mode="w+", dtype=np.int32, shape=(n,))
        self._place(indptr, idf, avg_len, data, indices)
        data.flush()  # IndexWriter.commit fsyncs and hashes every file of the folder
        indices.flush()
        del data, indices
        if corpus is not None:
            (folder / CORPUS_FILE).write_text(json.dumps({"num_docs": corpus.num_docs}))
            np.save(folder / CORPUS_DF_FILE, corpus_df)
        self.close()
