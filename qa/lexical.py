"""BM25 over passage terms (bm25s), with document frequencies for answer scoring."""

from __future__ import annotations

import logging
import math
import unicodedata
from pathlib import Path

import bm25s
import numpy as np

# Anserini's BEIR settings; confirmed on the SciFact train split (docs/QUALITY.md).
K1, B = 0.9, 0.4
# Stems sharing this many first letters count as the same word for "does the corpus mention it".
PREFIX = 6

logging.getLogger("bm25s").setLevel(logging.WARNING)


def _fold(word: str) -> str:
    """A word without its accents (combining marks)."""
    if word.isascii():
        return word
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


class BM25Index:
    """A BM25 index of token lists, scored against all documents at once."""

    def __init__(self, model: bm25s.BM25) -> None:
        self.model = model
        indptr = np.asarray(model.scores["indptr"])
        self.df = np.diff(indptr)
        self.num_docs = int(model.scores["num_docs"])
        self._prefixes: set[str] | None = None

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> BM25Index:
        """Index the given documents (each a list of terms)."""
        model = bm25s.BM25(k1=K1, b=B)
        # An empty document still needs a row so ids line up with passages.
        model.index([tokens or [""] for tokens in token_lists] or [[""]], show_progress=False)
        return cls(model)

    def save(self, path: Path) -> None:
        """Write the index into the folder `path`."""
        self.model.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path) -> BM25Index:
        """Read an index written by save()."""
        return cls(bm25s.BM25.load(str(path), mmap=False, show_progress=False, verbosity=0))

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every document for the query terms (zeros if none is known)."""
        ids = self.model.get_tokens_ids(query_terms)
        if not ids:
            return np.zeros(self.num_docs, dtype=np.float32)
        return np.asarray(self.model.get_scores_from_ids(ids), dtype=np.float32)

    def knows(self, term: str) -> bool:
        """Whether a term, or a word sharing its first PREFIX letters ("botulinum"/"botuline"), is indexed.

        Accents are ignored ("Maiziere"/"Maizière"): questions are often typed without them.
        """
        if term in self.model.vocab_dict:
            return True
        if self._prefixes is None:
            folded = {_fold(t) for t in self.model.vocab_dict}
            self._prefixes = folded | {t[:PREFIX] for t in folded if len(t) >= PREFIX}
        term = _fold(term)
        return term in self._prefixes or (len(term) >= PREFIX and term[:PREFIX] in self._prefixes)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term; unseen terms get the highest value."""
        token_id = self.model.vocab_dict.get(term)
        df = 0 if token_id is None else int(self.df[token_id])
        return math.log(1 + (self.num_docs - df + 0.5) / (df + 0.5))
