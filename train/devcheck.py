"""Fit the selector's confidence on the development splits, through the retrieval and ranking users run.

DEV, as `python -m bench.quality --split dev` asks it: SQuAD 2.0 half articles 1-4 (answerable and unanswerable)
over the 16-article corpus, COVID-QA questions on odd document ids over the 98-article corpus, and those COVID-QA
questions again over the SQuAD corpus (off topic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm

from bench.common.data import Benchmark, Question, load_covidqa, load_squad
from bench.common.harness import model_embedder, open_indexed
from bench.common.metrics import overlaps

THRESHOLDS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
# The decline threshold: the highest one that declines at most this share of the answerable DEV questions whose
# first quote is right (the rule the hand-weighted scorer's threshold was chosen by, docs/QUALITY.md).
MAX_RIGHT_DECLINED = 0.02
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """One DEV question as the service's selector saw it (never declining: the threshold is chosen from these)."""

    split: str  # "squad", "covidqa" or "off-topic" (COVID-QA questions asked of the SQuAD corpus)
    group: int  # SQuAD article or COVID-QA document id (for cross-validation by group)
    answerable: bool
    right: bool  # the first quote overlaps a gold answer
    row: np.ndarray  # the QUESTION_FEATURES the confidence model reads


def dev_sets(bench_dir: Path, limit: int = 0) -> list[tuple[str, Benchmark, list[Question]]]:
    """The DEV benchmarks with their questions (the first `limit` of each when limit > 0)."""
    squad = load_squad(bench_dir)
    covid = load_covidqa(bench_dir)
    odd = [q for q in covid.questions if q.group % 2 == 1]
    sets = [
        ("squad", squad, [q for q in squad.questions if q.group in range(1, 5)]),
        ("covidqa", covid, odd),
        ("off-topic", squad, [Question(q.id, q.text, {}, q.group) for q in odd]),
    ]
    return [(name, bench, questions[:limit] if limit else questions) for name, bench, questions in sets]


def ask_each(
    selector: Path, bench_dir: Path, cache: Path, limit: int, record: Callable[[Any, str, Question], T]
) -> list[T]:
    """Every DEV question through QAService's retrieval with this selector, each turned into what `record` makes of
    (service, set name, question)."""
    cache.mkdir(parents=True, exist_ok=True)
    emb = model_embedder(cache)
    out = []
    for name, bench, questions in dev_sets(bench_dir, limit):
        indexed = open_indexed(bench, emb, out_dir=cache, selector=str(selector))
        indexed.prime([q.text for q in questions])
        for q in tqdm(questions, desc=f"DEV {name}", unit="q"):
            out.append(record(indexed.service, name, q))
    emb.save()
    return out


def ask_dev(selector: Path, bench_dir: Path, cache: Path, limit: int = 0) -> list[Outcome]:
    """Every DEV question through QAService's retrieval and this selector, with its question row and outcome."""
    return ask_each(selector, bench_dir, cache, limit, _outcome)


def selected(service, question: str):
    """(retriever, answerer, query, query vector, query terms, candidates) as `qa ask` orders them."""
    loaded = service.load()
    r, answerer = loaded.retriever, loaded.answerer
    query, vector, query_terms, hits = service.retrieve(question, k=10)
    cands = answerer.select(query, vector, query_terms, answerer.candidates(query, vector, query_terms, hits), hits)
    return r, answerer, query, vector, query_terms, cands


def _outcome(service, name: str, q: Question) -> Outcome:
    r, answerer, query, vector, query_terms, cands = selected(service, q.text)
    doc_i, start, end = answerer.quote_span(cands[0].sentence, vector)
    doc_id = r.document(doc_i).doc_id
    right = doc_id in q.gold and overlaps(start, end, q.gold[doc_id])
    row = answerer.question_features(query, query_terms, cands, r.document(doc_i).text[start:end])
    return Outcome(name, q.group, bool(q.gold), right, row)


def coverage_table(right: np.ndarray, p: np.ndarray) -> list[dict]:
    """Per threshold on the confidence p: share answered, their accuracy, right first quotes declined."""
    right = np.asarray(right, dtype=bool)
    rows = []
    for t in THRESHOLDS:
        answered = p >= t
        rows.append(
            {
                "threshold": t,
                "answered": round(float(answered.mean()), 4),
                "accuracy_answered": round(float(right[answered].mean()), 4) if answered.any() else None,
                "right_declined": round(float((right & ~answered).sum() / max(1, right.sum())), 4),
            }
        )
    return rows


def choose_threshold(table: list[dict]) -> float:
    """The highest threshold that declines at most MAX_RIGHT_DECLINED of the right first quotes."""
    fine = [row["threshold"] for row in table if row["right_declined"] <= MAX_RIGHT_DECLINED]
    return max(fine, default=min(THRESHOLDS))
