"""Searching the shards of a sharded index as one: each shard answers for its passages, the results merge.

Each shard's FAISS index returns its own top k; the top k of their union is the top k of one index over all
passages (exactly so for exact search). BM25 shards were written with the whole corpus's statistics
(qa.index.lexical.CorpusStats), so their scores side by side are one index's scores.
"""

from __future__ import annotations

import numpy as np

from qa.index.dense import DenseIndex
from qa.index.lexical import BM25Index


class ShardedDense:
    """DenseIndex's search over several shards; passage ids run through the shards in order."""

    def __init__(self, shards: list[DenseIndex]) -> None:
        self.shards = shards
        self.starts = np.cumsum([0, *[s.ntotal for s in shards]])

    @property
    def ntotal(self) -> int:
        """Passages in all shards."""
        return int(self.starts[-1])

    @property
    def kind(self) -> str:
        """The shards' kinds ('flat', 'hnsw', or both joined by +)."""
        return "+".join(sorted({s.kind for s in self.shards}))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the k nearest passages of all shards (among `allowed`, sorted ids, when given)."""
        scores, ids = [], []
        for i, shard in enumerate(self.shards):
            lo, hi = int(self.starts[i]), int(self.starts[i + 1])
            local = None
            if allowed is not None:
                local = allowed[(allowed >= lo) & (allowed < hi)] - lo
                if not len(local):
                    continue
            s, found = shard.search(query, k, local)
            scores.append(s)
            ids.append(found + lo)
        if not scores:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        s, found = np.concatenate(scores), np.concatenate(ids)
        best = np.lexsort((found, -s))[:k]  # best score first; equal scores: lower id first
        return s[best], found[best]


class ShardedBM25:
    """BM25Index's scoring, idf and vocabulary questions over shards written with the whole corpus's statistics."""

    def __init__(self, shards: list[BM25Index]) -> None:
        self.shards = shards
        self.num_docs = sum(s.num_docs for s in shards)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every passage of every shard, in passage order."""
        return np.concatenate([s.scores(query_terms) for s in self.shards])

    def knows(self, term: str) -> bool:
        """Whether any shard knows the term (see BM25Index.knows)."""
        return any(s.knows(term) for s in self.shards)

    def _holding(self, term: str) -> BM25Index | None:
        return next((s for s in self.shards if term in s.model.vocab_dict), None)

    def correct(self, term: str) -> str:
        """The term, or the commonest term of the whole corpus one typing error away (see BM25Index.correct)."""
        if self._holding(term) is not None:
            return term
        best, best_df = term, 0
        for shard in self.shards:
            candidate = shard.correct(term)
            if candidate == term:
                continue
            df = int(shard.df[shard.model.vocab_dict[candidate]])  # the whole corpus's frequency
            if df > best_df or (df == best_df and candidate < best):
                best, best_df = candidate, df
        return best

    def idf(self, term: str) -> float:
        """The term's idf over the whole corpus."""
        return (self._holding(term) or self.shards[0]).idf(term)
