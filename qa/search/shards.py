"""Searching an index, or the shards of a sharded one, through one narrow call per shard.

Each shard returns its own top passages by FAISS and by BM25 with exact scores; the top of their union is the
top of one index over all passages (exactly so for exact search). BM25 shards were written with the whole
corpus's statistics (qa.index.lexical.CorpusStats), so their scores are one index's scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import IndexUnusable
from qa.index.dense import DenseIndex
from qa.index.format import BM25_DIR, DENSE_FILE, PASSAGE_VECTORS
from qa.index.lexical import BM25Index
from qa.index.store import REBUILD_HINT, load_vectors


class ShardUnavailable(Exception):
    """A shard did not answer (in time, or at all): the answer is then marked partial and names it."""

    def __init__(self, shard: str, why: str) -> None:
        super().__init__(f"shard {shard} did not answer: {why}")
        self.shard = shard


@dataclass
class Candidates:
    """What one index (or shard) offers a query: its top passages by each retriever, with exact scores."""

    dense: dict[int, float] = field(default_factory=dict)  # the top `depth` by FAISS: passage -> cosine
    bm25: dict[int, float] = field(default_factory=dict)  # the top `depth` with a BM25 score above 0
    exact: dict[int, float] = field(default_factory=dict)  # every candidate's exact cosine (dense search given)

    def shifted(self, offset: int) -> Candidates:
        """The same candidates numbered from `offset` (a shard's passages among all shards')."""
        return Candidates(*({i + offset: v for i, v in d.items()} for d in (self.dense, self.bm25, self.exact)))


class Shard(Protocol):
    """What a retriever asks of a shard, in this process (ShardSearcher) or elsewhere (qa.cluster.serve)."""

    def submit(
        self, query_vector: np.ndarray | None, terms: list[str] | None, depth: int, allowed: np.ndarray | None
    ) -> Callable[[], Candidates]: ...


class ShardSearcher:
    """The one call a shard answers: `candidates(query_vector, terms, depth, allowed)`.

    Narrow on purpose, so that a shard can live elsewhere (a Ray Serve deployment, another search engine).
    """

    def __init__(self, dense: DenseIndex, bm25: BM25Index, vectors: np.ndarray) -> None:
        self.dense, self.bm25, self.vectors = dense, bm25, vectors

    @classmethod
    def open(cls, folder: Path, mmap: bool = True) -> ShardSearcher:
        """The searcher of one index folder (an ordinary index, or one shard of a sharded one)."""
        dense, bm25 = open_parts(folder, mmap)
        current = folder / PASSAGE_VECTORS
        try:
            vectors = load_vectors(current, mmap)
        except Exception as exc:  # numpy raises several kinds for a damaged file
            raise IndexUnusable(f"index file {current} cannot be read ({exc}); {REBUILD_HINT}") from exc
        return cls(dense, bm25, vectors)

    def submit(
        self, query_vector: np.ndarray | None, terms: list[str] | None, depth: int, allowed: np.ndarray | None
    ) -> Callable[[], Candidates]:
        """candidates(), to be collected by calling what this returns (a remote shard answers meanwhile)."""
        found = self.candidates(query_vector, terms, depth, allowed)
        return lambda: found

    def candidates(
        self, query_vector: np.ndarray | None, terms: list[str] | None, depth: int, allowed: np.ndarray | None
    ) -> Candidates:
        """Top passages by FAISS (when query_vector) and by BM25 (when terms), among `allowed` (sorted ids)."""
        found = Candidates()
        if query_vector is not None:
            scores, ids = self.dense.search(query_vector, depth, allowed)
            found.dense = dict(zip(ids.tolist(), scores.tolist(), strict=True))
        if terms is not None:
            scores = self.bm25.scores(terms)
            if allowed is not None:  # masked before the top-k, so the best allowed passages fill it
                masked = np.zeros_like(scores)
                masked[allowed] = scores[allowed]
                scores = masked
            found.bm25 = {int(i): float(scores[i]) for i in top_indices(scores, depth) if scores[i] > 0}
        if query_vector is not None and terms is not None:  # fusion scores every candidate by both
            ids = sorted(set(found.dense) | set(found.bm25))
            exact = self.vectors[ids] @ query_vector.astype(np.float32) if ids else []
            found.exact = dict(zip(ids, np.asarray(exact).tolist(), strict=True))
        return found


def open_parts(folder: Path, mmap: bool, dense: bool = True) -> tuple[DenseIndex | None, BM25Index]:
    """A folder's FAISS index (None when not `dense`) and BM25 index, memory-mapped unless mmap is False."""
    current = folder / DENSE_FILE
    try:
        faiss_index = DenseIndex.load(current, mmap=mmap) if dense else None
        current = folder / BM25_DIR
        return faiss_index, BM25Index.load(current, mmap=mmap)
    except Exception as exc:  # FAISS raises RuntimeError, bm25s several kinds
        raise IndexUnusable(f"index file {current} cannot be read ({exc}); {REBUILD_HINT}") from exc


def merge(parts: list[Candidates], depth: int) -> Candidates:
    """The candidates of all shards (already numbered through them): the top `depth` of each kind."""

    def best(scores: dict[int, float]) -> dict[int, float]:
        return dict(sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:depth])

    merged = Candidates()
    for part in parts:
        merged.dense.update(part.dense)
        merged.bm25.update(part.bm25)
        merged.exact.update(part.exact)
    merged.dense, merged.bm25 = best(merged.dense), best(merged.bm25)
    return merged


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def indexes(bm25: BM25Index | ShardedBM25, term: str) -> bool:
    """Whether the term itself is indexed (`knows` also accepts look-alikes); here, not on BM25Index, so that
    the index key, which hashes qa/index/lexical.py, does not change."""
    shards = bm25.shards if isinstance(bm25, ShardedBM25) else [bm25]
    return any(term in s.model.vocab_dict for s in shards)


class ShardedBM25:
    """BM25Index's idf and vocabulary questions over shards written with the whole corpus's statistics (each
    shard scores its own passages: ShardSearcher)."""

    def __init__(self, shards: list[BM25Index]) -> None:
        self.shards = shards
        self.num_docs = sum(s.num_docs for s in shards)

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
