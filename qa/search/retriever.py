"""Hybrid passage retrieval: FAISS dense search and BM25, fused."""

from __future__ import annotations

import functools
from collections.abc import Callable, Set
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ClusterError, IndexUnusable
from qa.index.dense import DenseIndex
from qa.index.format import IndexedDocument
from qa.index.lexical import BM25Index
from qa.index.shards import shard_folders
from qa.index.store import REBUILD_HINT, IndexData, read_index
from qa.search.abbreviations import Aliases
from qa.search.bridge import TermBridge
from qa.search.params import DEFAULT_RETRIEVAL, RetrievalParams
from qa.search.shards import (
    Candidates,
    Shard,
    ShardedBM25,
    ShardSearcher,
    ShardUnavailable,
    indexes,
    merge,
    open_parts,
)
from qa.text.terms import is_content, is_query_content, stem, terms, words

# Sentence term sets kept in memory; cleared when full so a huge corpus cannot grow the cache unbounded.
TERM_CACHE_SIZE = 200_000


@dataclass
class Hit:
    """A retrieved passage and its scores."""

    passage: int
    score: float
    dense: float = 0.0
    bm25: float = 0.0


class Retriever:
    """Searches the passages of one loaded index."""

    def __init__(
        self,
        data: IndexData,
        dense: DenseIndex | None,
        bm25: BM25Index | ShardedBM25,
        params: RetrievalParams = DEFAULT_RETRIEVAL,
        shards: list[tuple[int, int, Shard]] | None = None,
    ) -> None:
        self.data = data
        self.params = params
        self.dense = dense  # None for a sharded index: each shard's is in `shards`
        self.bm25 = bm25
        self.shards = shards or []  # (first passage, passages, searcher) of each shard
        self.doc_index = {d.doc_id: i for i, d in enumerate(data.documents)}
        self._terms: dict[int, frozenset[str]] = {}
        self.bridge: TermBridge | None = None  # set by the service, which holds the model (qa/search/bridge.py)

    @classmethod
    def open(
        cls,
        index_dir: Path,
        params: RetrievalParams = DEFAULT_RETRIEVAL,
        mmap: bool = True,
        remote: Callable[[Path], Shard] | None = None,
    ) -> Retriever:
        """Load the index at index_dir with its FAISS and BM25 parts, memory-mapped unless mmap is False; a
        sharded index's shards are searched together as one index. `remote(folder)` gives each shard's searcher
        when the shards are served elsewhere (qa.cluster.serve): then no FAISS index is read here."""
        data = read_index(index_dir, mmap=mmap)
        folders = shard_folders(index_dir, data.manifest) if data.manifest.shards else [Path(index_dir)]
        # BM25 is read even when the shards are served elsewhere: its vocabulary and idf correct query terms.
        parts = [open_parts(folder, mmap, dense=remote is None) for folder in folders]
        dense, bm25 = [d for d, _ in parts], [b for _, b in parts]
        sizes = [b.num_docs for b in bm25]
        counts_differ = not remote and sizes != [d.ntotal for d in dense]
        if counts_differ or sum(sizes) != len(data.passage_vectors):
            raise IndexUnusable(f"index at {index_dir} is inconsistent (passage counts); {REBUILD_HINT}")
        if not data.manifest.shards and not remote:
            return cls(data, dense[0], bm25[0], params)
        starts = np.cumsum([0, *sizes]).tolist()
        if remote:
            searchers = [remote(folder) for folder in folders]
        else:
            vectors = data.passage_vectors.parts
            searchers = [ShardSearcher(d, b, v) for d, b, v in zip(dense, bm25, vectors, strict=True)]
        shards = [(starts[i], sizes[i], searcher) for i, searcher in enumerate(searchers)]
        return cls(data, None, ShardedBM25(bm25) if len(bm25) > 1 else bm25[0], params, shards)

    def __len__(self) -> int:
        return len(self.data.passage_vectors)

    def search(
        self,
        query_vector: np.ndarray | None,
        query_terms: list[str],
        k: int = 10,
        mode: str = "hybrid",
        depth: int | None = None,
        allowed: np.ndarray | None = None,
        missing: list[str] | None = None,
    ) -> list[Hit]:
        """The k best passages for a query, by `mode`: 'hybrid', 'dense' or 'bm25' (depth: params.depth);
        only among the `allowed` passage ids (sorted) when given (qa.search.filter). The names of shards that
        did not answer are added to `missing`."""
        depth = max(self.params.depth if depth is None else depth, k)
        vector = query_vector if mode in ("dense", "hybrid") else None
        query = query_terms if mode in ("bm25", "hybrid") else None
        found = self.candidates(vector, query, depth, allowed, missing)
        dense_scores, bm25_scores = found.dense, found.bm25
        if mode == "dense":
            hits = [Hit(i, s, dense=s) for i, s in dense_scores.items()]
        elif mode == "bm25":
            hits = [Hit(i, s, bm25=s) for i, s in bm25_scores.items()]
        else:
            hits = self._fuse(dense_scores, bm25_scores, found.exact if query_vector is not None else None)
        hits.sort(key=lambda h: (-h.score, h.passage))
        if mode == "hybrid" and query_vector is not None:
            rerank_depth = self.params.rerank_depth
            hits[:rerank_depth] = self._rerank(hits[:rerank_depth], query_vector, query_terms)
        return hits[:k]

    def _rerank(self, hits: list[Hit], query_vector: np.ndarray, query_terms: list[str]) -> list[Hit]:
        """Hits re-scored by their best sentence's cosine and query-term coverage, best first."""
        if len(hits) < 2:
            return hits
        weights = self.term_weights(query_terms)
        best_cosine, best_coverage = [], []
        for h in hits:
            sentences = self.sentences(h.passage)
            cosines = self.data.sentence_vectors[sentences.start : sentences.stop] @ query_vector
            best_cosine.append(float(cosines.max()) if len(cosines) else h.dense)
            best = 0.0
            for j in sentences:
                best = max(best, coverage(weights, self.sentence_terms(j)))
            best_coverage.append(best)
        # The bonus is never negative, so re-ranked hits stay above those past the re-ranking depth.
        p = self.params
        bonus = p.rerank_dense * _minmax(np.array(best_cosine)) + p.rerank_coverage * np.array(best_coverage)
        rescored = [Hit(h.passage, h.score + float(b), h.dense, h.bm25) for h, b in zip(hits, bonus, strict=True)]
        return sorted(rescored, key=lambda h: (-h.score, h.passage))

    def query_terms(self, text: str) -> list[str]:
        """The terms of a question, each one typing error away from an indexed term corrected to it, and each
        word the index lacks replaced by its stand-in when it has one."""
        out = []
        for w in words(text):
            if is_content(w):
                stand_in = self.stand_in(w)
                out.append(stem(stand_in) if stand_in else self.bm25.correct(stem(w)))
        return out

    @functools.cached_property
    def aliases(self) -> Aliases:
        """The abbreviations the documents define (qa/search/abbreviations.py; none when params switch them off).
        A sentence holds the other form of each one it names; a question is searched as worded, since adding the
        other form to BM25 lost 4 points of COVID-QA DEV hit@1 in BM25 mode (docs/QUALITY.md, "Abbreviations the
        documents define")."""
        if not self.params.abbreviations:
            return Aliases()
        return Aliases.of(d.text for d in self.data.documents)

    def stand_in(self, word: str) -> str | None:
        """The document word searched for a question word that the index does not know, if one is near enough."""
        if self.bridge is None or not is_query_content(word) or self.bm25.knows(stem(word)):
            return None
        found = self.bridge.stand_in(word)
        # The documents' text also holds words no passage indexes (a page's chrome): those would match nothing,
        # and knows() would pass them on a look-alike.
        return found if found and indexes(self.bm25, stem(found)) else None

    def term_weights(self, query_terms: list[str]) -> dict[str, float]:
        """IDF weight of each distinct query term, normalized to sum to 1."""
        weights = {t: self.bm25.idf(t) for t in set(query_terms)}
        # An abbreviation and its long form name one thing, as common as its commoner form: the article on
        # hemifacial spasm says "HFS" throughout, so the topic weighs what it is worth, not its rare long form.
        for group in self.aliases.groups(set(weights)):
            named = [t for t in group if t in weights]
            least = min(weights[t] for t in named)
            weights.update((t, least / len(named)) for t in named)
        total = sum(weights.values()) or 1.0
        return {t: w / total for t, w in weights.items()}

    def candidates(
        self,
        query_vector: np.ndarray | None,
        terms: list[str] | None,
        depth: int,
        allowed: np.ndarray | None,
        missing: list[str] | None = None,
    ) -> Candidates:
        """The top passages by FAISS and by BM25 of the index, or of every shard merged (see ShardSearcher);
        shards that do not answer are left out and named in `missing` (all of them: ClusterError)."""
        if not self.shards:
            return ShardSearcher(self.dense, self.bm25, self.data.passage_vectors).candidates(
                query_vector, terms, depth, allowed
            )
        asked = []
        for first, size, shard in self.shards:  # every shard is asked before any answer is awaited
            local = None
            if allowed is not None:
                local = allowed[(allowed >= first) & (allowed < first + size)] - first
                if not len(local):
                    continue
            asked.append((first, shard.submit(query_vector, terms, depth, local)))
        parts, why = [], ""
        for first, answer in asked:
            try:
                parts.append(answer().shifted(first))
            except ShardUnavailable as exc:
                if missing is not None:
                    missing.append(exc.shard)
                why = str(exc)
        if asked and not parts:
            raise ClusterError(f"no shard of the index answered ({why})")
        return merge(parts, depth)

    def _fuse(self, dense: dict[int, float], bm25: dict[int, float], exact: dict[int, float] | None) -> list[Hit]:
        """Fused scores over the union of both candidate lists (params: fusion, normalize, dense_weight)."""
        ids = sorted(set(dense) | set(bm25))
        if not ids:
            return []
        p = self.params
        if p.fusion == "rrf":
            fused = p.dense_weight * _rrf(ids, dense, p.rrf_k) + (1 - p.dense_weight) * _rrf(ids, bm25, p.rrf_k)
        # Candidates found by only one side still get their exact score from the other.
        if exact is not None:
            dense = exact
        d = np.array([dense.get(i, 0.0) for i in ids])
        b = np.array([bm25.get(i, 0.0) for i in ids])
        if p.fusion != "rrf":
            norm = _zscore if p.normalize == "zscore" else _minmax
            fused = p.dense_weight * norm(d) + (1 - p.dense_weight) * norm(b)
        return [Hit(i, float(f), float(dd), float(bb)) for i, f, dd, bb in zip(ids, fused, d, b, strict=True)]

    @functools.cached_property
    def sorted_doc_ids(self) -> tuple[list[str], np.ndarray]:
        """The doc_ids in sorted order, and each one's position in the index (a build writes documents in doc_id
        order; a sharded index holds each shard's in turn)."""
        ids = [d.doc_id for d in self.data.documents]
        order = np.argsort(np.array(ids, dtype=object), kind="stable") if ids else np.zeros(0, dtype=np.int64)
        return [ids[i] for i in order], order

    # Index accessors used by the answerer and the surfaces.
    @property
    def index_version(self) -> str:
        """The version string of the loaded index."""
        return self.data.index_version

    def document(self, i: int) -> IndexedDocument:
        """Document i of the index."""
        return self.data.documents[i]

    def doc(self, passage: int) -> IndexedDocument:
        """The document a passage belongs to."""
        return self.data.document_of(passage)

    def section(self, passage: int) -> str | None:
        """The section heading of a passage."""
        return self.data.section_of(passage)

    def span(self, passage: int) -> tuple[int, int]:
        """Start and end offsets of a passage in its document."""
        return self.data.passage_span(passage)

    def text(self, passage: int) -> str:
        """The passage text, exactly as it stands in the document."""
        return self.data.passage_text(passage)

    def sentences(self, passage: int) -> range:
        """Indices of the sentences in a passage."""
        a = self.data.arrays
        return range(int(a.p_first[passage]), int(a.p_last[passage]))

    def sentence_text(self, j: int) -> str:
        """The text of sentence j."""
        return self.data.sentence_text(j)

    def sentence_vector(self, j: int) -> np.ndarray:
        """The vector of sentence j."""
        return self.data.sentence_vectors[j]

    def sentence_terms(self, j: int) -> frozenset[str]:
        """The distinct content terms of sentence j, with the other form of each abbreviation it names (cached:
        every question re-reads the top passages)."""
        found = self._terms.get(j)
        if found is None:
            if len(self._terms) >= TERM_CACHE_SIZE:
                self._terms.clear()
            own = set(terms(self.sentence_text(j)))
            found = self._terms[j] = frozenset(own.union(self.aliases.added(own)))
        return found


def coverage(weights: dict[str, float], own: Set[str], context: Set[str] = frozenset()) -> float:
    """Share of the query's term weight a text holds; terms only in its context (heading) count half."""
    # A plain loop: this runs for every sentence of the top passages of every question.
    total = 0.0
    for t, w in weights.items():
        if t in own:
            total += w
        elif t in context:
            total += 0.5 * w
    return total


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return np.zeros_like(x) if sd < 1e-12 else (x - float(x.mean())) / sd


def _rrf(ids: list[int], scores: dict[int, float], rrf_k: int) -> np.ndarray:
    """1 / (rrf_k + rank) by descending score; 0 for ids the list does not hold."""
    ranked = sorted(scores, key=lambda i: (-scores[i], i))
    rank = {i: r for r, i in enumerate(ranked, 1)}
    return np.array([1.0 / (rrf_k + rank[i]) if i in rank else 0.0 for i in ids])
