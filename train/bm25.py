"""A small in-memory BM25 over one article's sentences, on qa's own stemmed terms."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from qa.text.terms import terms

# The same settings as qa's passage index (Anserini's BEIR values).
K1, B = 0.9, 0.4


class SentenceBM25:
    """BM25 scores of a question against a fixed list of sentences."""

    def __init__(self, sentences: list[str]) -> None:
        docs = [terms(s) for s in sentences]
        self.size = len(docs)
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        avg = float(lengths.mean()) if self.size and lengths.mean() > 0 else 1.0
        norm = K1 * (1 - B + B * lengths / avg)
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for row, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                postings[term].append((row, tf))
        # One dense weight row per term: an article has at most a few thousand sentences.
        self.weights: dict[str, np.ndarray] = {}
        for term, plist in postings.items():
            idf = math.log(1 + (self.size - len(plist) + 0.5) / (len(plist) + 0.5))
            row = np.zeros(self.size)
            for doc, tf in plist:
                row[doc] = idf * tf * (K1 + 1) / (tf + norm[doc])
            self.weights[term] = row

    def scores(self, question: str) -> np.ndarray:
        """One score per sentence (0 where no question term occurs)."""
        out = np.zeros(self.size)
        for term in set(terms(question)):
            row = self.weights.get(term)
            if row is not None:
                out += row
        return out

    def top(self, question: str, k: int) -> list[int]:
        """Indices of the k best sentences, best first; ties keep document order."""
        scores = self.scores(question)
        order = np.argsort(-scores, kind="stable")
        return [int(i) for i in order[:k]]
