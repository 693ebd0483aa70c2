"""Sentence-scoring weights compared on the dev questions' first quotes.

Usage: python -m bench.quality.tune_quotes [--top 15]

Each question is retrieved once; its candidate sentences keep their features, and every weight setting
re-scores them. A first quote (the best sentence with its context, as `qa ask` quotes it) is a hit on COVID-QA
dev (odd ids) when it overlaps the gold answer span, and on ../shared/eval/dev.jsonl (default corpus) when it
contains an accepted answer.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.common.data import BENCH_DIR, DEFAULT_CORPUS, DEV_FILE, Question, load_covidqa
from bench.common.embedcache import CachingEmbedder
from bench.common.harness import OUT_DIR, code_fingerprint, model_embedder, open_indexed
from bench.common.metrics import mean, overlaps
from qa.config import Settings
from qa.evaluate import EvalItem, hit_rank, read_items
from qa.index.embedder import Embedder
from qa.search.answerer import Candidate
from qa.search.params import AnswerParams
from qa.search.query import resolve
from qa.service import QAService


@dataclass
class Case:
    """One question's candidate sentences and what counts as a hit."""

    vector: np.ndarray
    candidates: list[Candidate]
    hits: set[int]  # candidate sentences whose quote overlaps the gold span


def cases(service: QAService, embedder: Embedder, questions: list[tuple[str, Callable]]) -> list[Case]:
    """Retrieve each (question, is_hit(doc_id, start, end, quote)) once and keep its scored candidates."""
    loaded = service.load()
    r, ans = loaded.retriever, loaded.answerer
    out = []
    for text, is_hit in questions:
        vector = embedder.encode([text])[0]
        query_terms = r.query_terms(text)
        hits = r.search(vector, query_terms, k=10)
        cands = ans.candidates(text, vector, query_terms, hits)
        good = set()
        for c in cands:
            doc_i, start, end = ans.quote_span(c.sentence, vector)
            doc = r.document(doc_i)
            if is_hit(doc.doc_id, start, end, doc.text[start:end]):
                good.add(c.sentence)
        out.append(Case(vector, cands, good))
    return out


def span_hit(q: Question) -> Callable:
    """A quote is a hit when it overlaps the question's gold answer span (COVID-QA, SQuAD)."""
    return lambda doc_id, start, end, quote: doc_id in q.gold and overlaps(start, end, q.gold[doc_id])


def answer_hit(item: EvalItem) -> Callable:
    """A quote is a hit when it holds an accepted answer (`qa eval`'s rule); never for an out-of-scope item."""
    return lambda doc_id, start, end, quote: bool(item.answers) and hit_rank(item.answers, [quote]) == 1


def covid_cases(embedder: CachingEmbedder) -> list[Case]:
    """COVID-QA dev questions over all articles at the shipped passage size."""
    covid = load_covidqa(BENCH_DIR)
    indexed = open_indexed(covid, embedder, selector="none")  # tunes the hand-weighted scorer
    dev = [q for q in covid.questions if q.group % 2 == 1]
    indexed.prime([q.text for q in dev])
    embedder.save()

    return cases(indexed.service, embedder, [(q.text, span_hit(q)) for q in dev])


def default_service(embedder: CachingEmbedder) -> QAService:
    """A service over the default corpus, indexed under bench/out with the benchmark embedder."""
    index_dir = OUT_DIR / "index" / f"default-{code_fingerprint()}"
    service = QAService(Settings.from_env(env={}, corpus_dir=DEFAULT_CORPUS, index_dir=index_dir), embedder=embedder)
    service.ensure_index()
    return service


def eval_file_cases(embedder: CachingEmbedder, path: Path = DEV_FILE) -> list[Case]:
    """The in-scope questions of an eval file over the default corpus (follow-ups resolved as `qa ask` does)."""

    items = [i for i in read_items(path) if i.answers]
    return cases(default_service(embedder), embedder, [(resolve(i.question, i.history), answer_hit(i)) for i in items])


def quote_at_1(all_cases: list[Case], params: AnswerParams) -> float:
    """Share of questions whose best-scored candidate is a hit, under the params' w_* weights (none: a miss)."""
    best = [max(c.candidates, key=lambda x: x.rescore(params)).sentence if c.candidates else None for c in all_cases]
    return mean([float(b is not None and b in c.hits) for b, c in zip(best, all_cases, strict=True)])


def main(argv: list[str] | None = None) -> None:
    """Print first-quote hit rates on COVID-QA dev and dev.jsonl for a grid of sentence-score weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15, help="How many settings to print, best COVID-QA first.")
    top = parser.parse_args(argv).top
    emb = model_embedder()
    covid, dev_file = covid_cases(emb), eval_file_cases(emb)
    for name, found in (("COVID-QA dev", covid), ("dev.jsonl", dev_file)):
        print(
            f"{name}: {len(found)} questions, a hit among the candidates for {mean([bool(c.hits) for c in found]):.3f}"
        )
    shipped = AnswerParams()
    current = (shipped.w_dense, shipped.w_lexical, shipped.w_passage, shipped.w_type)
    results = []
    for w in [current, *itertools.product((0.6, 1.0), (0.3, 0.6, 1.0), (0.15, 0.3, 0.6, 1.0), (0.0, 0.35))]:
        params = replace(shipped, w_dense=w[0], w_lexical=w[1], w_passage=w[2], w_type=w[3])
        results.append((quote_at_1(covid, params), quote_at_1(dev_file, params), w))
    print(f"current {current}: COVID-QA dev quote@1 {results[0][0]:.4f}, dev.jsonl hit@1 {results[0][1]:.4f}")
    for covid_q1, dev_h1, w in sorted(results[1:], reverse=True)[:top]:
        print(
            f"w_dense, w_lexical, w_passage, w_type = {w}: "
            f"COVID-QA dev quote@1 {covid_q1:.4f}, dev.jsonl hit@1 {dev_h1:.4f}"
        )


if __name__ == "__main__":
    main()
