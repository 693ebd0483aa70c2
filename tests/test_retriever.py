"""Hybrid retrieval over a built index: modes, fusion, passage accessors, damaged parts."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexUnusable
from qa.index.format import DENSE_FILE
from qa.search import retriever as retriever_module
from qa.search.params import RetrievalParams
from qa.search.retriever import Retriever
from qa.text.terms import terms


@pytest.fixture
def retriever(service) -> Retriever:
    return Retriever.open(service.settings.index_dir)


def query(service, text: str) -> tuple[np.ndarray, list[str]]:
    return service.embedder.encode([text])[0], terms(text)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_mode_finds_the_matching_passage_first(service, retriever, mode):
    vector, q_terms = query(service, "waggle dance nectar pollen")
    hits = retriever.search(vector, q_terms, k=3, mode=mode)
    assert hits and "waggle dance" in retriever.text(hits[0].passage)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.passage for h in hits}) == len(hits)


def test_hybrid_scores_are_a_convex_fusion(service, retriever):
    retriever.params = replace(retriever.params, rerank_depth=0)
    vector, q_terms = query(service, "Fresnel lens lamp")
    hits = retriever.search(vector, q_terms, k=len(retriever))
    assert len(hits) == len(retriever)  # a small index: every passage is a dense candidate
    d = np.array([h.dense for h in hits])
    b = np.array([h.bm25 for h in hits])
    minmax = lambda x: (x - x.min()) / (x.max() - x.min())
    w = retriever.params.dense_weight
    expected = w * minmax(d) + (1 - w) * minmax(b)
    assert np.allclose([h.score for h in hits], expected, atol=1e-6)
    for h in hits:  # every candidate carries its exact dense score
        assert h.dense == pytest.approx(float(retriever.data.passage_vectors[h.passage] @ vector), abs=1e-5)


def test_hybrid_rerank_adds_the_best_sentence_bonus(service, retriever):
    vector, q_terms = query(service, "Fresnel lens lamp keeper")
    reranked = retriever.search(vector, q_terms, k=len(retriever))
    params = retriever.params
    depth = params.rerank_depth
    retriever.params = replace(params, rerank_depth=0)
    fused = {h.passage: h.score for h in retriever.search(vector, q_terms, k=len(retriever))}
    top = sorted(fused, key=lambda p: (-fused[p], p))[:depth]
    idf = {t: retriever.bm25.idf(t) for t in set(q_terms)}
    best_cos, best_cov = [], []
    for p in top:  # brute force: every sentence of every re-ranked passage
        cosines, covs = [], []
        for j in retriever.sentences(p):
            cosines.append(float(retriever.data.sentence_vectors[j] @ vector))
            own = set(terms(retriever.sentence_text(j)))
            covs.append(sum(w for t, w in idf.items() if t in own) / sum(idf.values()))
        best_cos.append(max(cosines))
        best_cov.append(max(covs))
    lo, hi = min(best_cos), max(best_cos)
    expected = {
        p: fused[p] + params.rerank_dense * (c - lo) / (hi - lo) + params.rerank_coverage * v
        for p, c, v in zip(top, best_cos, best_cov, strict=True)
    }
    got = {h.passage: h.score for h in reranked}
    assert all(got[p] == pytest.approx(expected[p], abs=1e-5) for p in top)
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    assert any(got[p] != pytest.approx(fused[p]) for p in top)


def test_retrieval_params_are_passed_not_assigned(service):
    rrf = RetrievalParams(fusion="rrf", dense_weight=1.0, rerank_depth=0)
    retriever = Retriever.open(service.settings.index_dir, rrf)
    vector, q_terms = query(service, "Fresnel lens lamp")
    hits = retriever.search(vector, q_terms, k=3)
    # Dense ranks alone, by reciprocal rank: the scores are 1 / (rrf_k + rank).
    assert [h.score for h in hits] == pytest.approx([1 / (rrf.rrf_k + r) for r in (1, 2, 3)])
    assert RetrievalParams().fusion == "convex"  # the defaults are untouched
    with pytest.raises(TypeError):
        replace(rrf, no_such_field=1)  # a renamed field makes tuning fail loudly


def test_sentence_terms_are_cached_and_bounded(retriever, monkeypatch):
    monkeypatch.setattr(retriever_module, "TERM_CACHE_SIZE", 2)
    assert retriever.sentence_terms(0) == frozenset(terms(retriever.sentence_text(0)))
    for j in range(len(retriever.data.arrays.s_doc)):
        retriever.sentence_terms(j)
        assert len(retriever._terms) <= 2


def test_bm25_mode_returns_only_passages_sharing_a_term(service, retriever):
    hits = retriever.search(None, terms("queen eggs"), k=10, mode="bm25")
    assert hits and all(h.bm25 > 0 and h.score == h.bm25 for h in hits)
    assert all("queen" in retriever.text(h.passage) for h in hits)
    assert retriever.search(None, terms("volcano"), k=10, mode="bm25") == []


def test_k_limits_the_hits(service, retriever):
    vector, q_terms = query(service, "lamp")
    assert len(retriever.search(vector, q_terms, k=1)) == 1
    assert len(retriever.search(vector, q_terms, k=100, mode="dense")) == len(retriever)


def test_passage_accessors_agree_with_the_document(retriever):
    for p in range(len(retriever)):
        doc = retriever.doc(p)
        start, end = retriever.span(p)
        assert retriever.text(p) == doc.text[start:end]
        sentences = retriever.sentences(p)
        assert len(sentences) >= 1
        assert start == retriever.data.arrays.s_start[sentences[0]]
        assert end == retriever.data.arrays.s_end[sentences[-1]]
    sections = {retriever.section(p) for p in range(len(retriever))}
    assert sections == {"Lamps and lenses", "Daily duties", "Colony", "Foraging"}


def test_damaged_dense_index_is_index_unusable(service):
    path = Path(service.settings.index_dir) / DENSE_FILE
    path.write_bytes(b"\0" * path.stat().st_size)  # same size: only reading it can tell
    with pytest.raises(IndexUnusable, match="qa build --rebuild") as err:
        Retriever.open(service.settings.index_dir)
    assert str(path) in str(err.value)
