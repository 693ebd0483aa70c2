"""Retrieval settings compared on the dev splits only (SciFact train, COVID-QA odd ids).

Usage: python -m bench.quality.tune [--what modes|fusion|bm25|title|rerank] [--max-chars N]
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from dataclasses import replace

from bench.common.data import BENCH_DIR, load_covidqa, load_scifact
from bench.common.harness import Indexed, model_embedder, open_indexed
from bench.common.metrics import first_hit, hit_at_k, mean, ndcg_at_k, overlaps
from bench.quality import retrieval
from qa.index.content import lexical_text, titled_documents
from qa.index.dense import DenseIndex
from qa.index.lexical import BM25Index
from qa.search.params import RetrievalParams
from qa.text.terms import terms


def rebuild_bm25(indexed: Indexed, k1: float, b: float) -> None:
    """Swap in a BM25 index with other parameters, over the same passages and lexical text."""
    r = indexed.service.load().retriever
    titled = titled_documents(r.data)
    texts = [terms(lexical_text(r.data, i, titled)) for i in range(len(r))]
    r.bm25 = BM25Index.build(texts, k1=k1, b=b)


def _untitled_text(title: str, section: str | None, text: str) -> str:
    """The passage text before titles were added (section heading only)."""
    return f"{section}: {text}" if section and section != title else text


def swap_passage_text(indexed: Indexed, text_of: Callable[[str, str | None, str], str]) -> None:
    """Re-embed and re-index every passage (in memory) with another passage-text function."""
    r = indexed.service.load().retriever
    data = r.data
    texts = [text_of(r.doc(i).title, r.section(i), r.text(i)) for i in range(len(r))]
    data.passage_vectors = indexed.embedder.encode(texts)
    r.dense = DenseIndex.build(data.passage_vectors)
    r.bm25 = BM25Index.build([terms(t) for t in texts])


def scifact_ndcg(indexed: Indexed, mode: str) -> float:
    """Mean nDCG@10 over the indexed benchmark's questions."""
    rel = indexed.bench.relevance
    return mean(
        [
            ndcg_at_k(retrieval.dedupe(indexed.ranked_docs(q.text, mode, retrieval.SCIFACT_TOP)), rel[q.id])
            for q in indexed.bench.questions
        ]
    )


def covid_hits(indexed: Indexed, questions, mode: str) -> tuple[float, float]:
    """hit@1 and hit@5 of `qa search` passages on the gold answer span."""
    ranks = []
    for q in questions:
        _, results = indexed.service.search(q.text, k=10, mode=mode)
        flags = [r.doc_id in q.gold and overlaps(r.start, r.end, q.gold[r.doc_id]) for r in results]
        ranks.append(first_hit(flags))
    return mean([hit_at_k(r, 1) for r in ranks]), mean([hit_at_k(r, 5) for r in ranks])


def fusions() -> list[dict]:
    """The fusion settings compared (RetrievalParams fields)."""
    out = [dict(fusion="rrf", dense_weight=w, rrf_k=k) for w, k in itertools.product((0.3, 0.4, 0.5), (20, 60))]
    out += [
        dict(fusion="convex", normalize=n, dense_weight=w)
        for n, w in itertools.product(("minmax", "zscore"), (0.3, 0.4, 0.5, 0.6))
    ]
    return out


def main(argv: list[str] | None = None) -> None:
    """Print dev-split numbers for each setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", choices=["fusion", "bm25", "modes", "title", "rerank"], default="modes")
    parser.add_argument("--max-chars", type=int, default=None)
    args = parser.parse_args(argv)
    what, max_chars = args.what, args.max_chars
    emb = model_embedder()
    sci = open_indexed(load_scifact(BENCH_DIR, "train"), emb, max_chars=max_chars, selector="none")
    covid = load_covidqa(BENCH_DIR)
    cov = open_indexed(covid, emb, max_chars=max_chars, selector="none")
    dev = [q for q in covid.questions if q.group % 2 == 1]
    sci.prime([q.text for q in sci.bench.questions])
    cov.prime([q.text for q in dev])
    emb.save()

    def report(label: str, modes: tuple[str, ...]) -> None:
        for mode in modes:
            started = time.monotonic()
            h1, h5 = covid_hits(cov, dev, mode)
            print(
                f"{label:60s} {mode:7s} scifact nDCG@10 {scifact_ndcg(sci, mode):.4f}  "
                f"covid hit@1 {h1:.4f} hit@5 {h5:.4f}  ({time.monotonic() - started:.0f}s)",
                flush=True,
            )

    if what == "modes":
        report("current settings", ("bm25", "dense", "hybrid"))
    elif what == "title":
        report("title on every passage", ("bm25", "dense", "hybrid"))
        swap_passage_text(sci, _untitled_text)
        swap_passage_text(cov, _untitled_text)
        emb.save()
        report("section heading only (before)", ("bm25", "dense", "hybrid"))
    elif what == "rerank":
        weights = itertools.product((30,), (0.2, 0.3, 0.5), (0.0, 0.1, 0.2))
        for depth, dense_w, coverage_w in [(0, 0.0, 0.0), *weights, (10, 0.3, 0.1), (100, 0.3, 0.1)]:
            params = replace(RetrievalParams(), rerank_depth=depth, rerank_dense=dense_w, rerank_coverage=coverage_w)
            sci.use_retrieval(params)
            cov.use_retrieval(params)
            report(f"rerank depth {depth}, best-sentence cosine {dense_w}, coverage {coverage_w}", ("hybrid",))
    elif what == "fusion":
        for setting in fusions():
            sci.use_retrieval(replace(RetrievalParams(), **setting))
            cov.use_retrieval(replace(RetrievalParams(), **setting))
            report(str(setting), ("hybrid",))
    else:
        for k1, b in itertools.product((0.9, 1.2, 1.5), (0.4, 0.6, 0.75)):
            rebuild_bm25(sci, k1, b)
            rebuild_bm25(cov, k1, b)
            report(f"k1={k1} b={b}", ("bm25",))


if __name__ == "__main__":
    main()
