"""Fit the answer confidence on the development splits and tabulate it.

Usage: python -m bench.quality.calibrate

Every development question is asked with declining switched off, so each gets a first quote. Its label is
whether that quote answers it: a quote overlapping the gold span (COVID-QA odd ids, SQuAD articles 1-4
answerable), holding an accepted answer (../shared/eval/dev.jsonl), or never for a question the documents do not
answer (SQuAD unanswerable, COVID-QA questions asked of the SQuAD articles and SQuAD questions asked of the
COVID-QA articles, dev.jsonl out-of-scope). A one-input logistic regression of those labels on the answerer's
answerability score is fitted (Platt scaling); the script prints its slope and intercept, a reliability table
and the coverage-versus-accuracy table from which the decline threshold is chosen.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.common.data import BENCH_DIR, DEV_FILE, load_covidqa, load_squad
from bench.common.embedcache import CachingEmbedder
from bench.common.harness import model_embedder, open_indexed
from bench.common.metrics import mean, roc_auc
from bench.quality.tune_quotes import answer_hit, cases, default_service, span_hit
from qa.evaluate import read_items
from qa.search.params import AnswerParams
from qa.search.query import resolve
from qa.service import QAService


@dataclass
class Sample:
    """One development question: its answerability score, whether the first quote answers it, and its group."""

    score: float
    correct: bool
    group: str


def collect(
    service: QAService, embedder: CachingEmbedder, questions: list[tuple[str, Callable]], group: str
) -> list[Sample]:
    """Score each (question, is_hit(doc_id, start, end, quote)) and label its first quote (declining aside)."""
    answerer = service.load().answerer
    return [
        Sample(
            answerer.answerability(text, c.candidates, answerer.first_quote(c.candidates, c.vector)),
            c.candidates[0].sentence in c.hits,
            group,
        )
        if c.candidates
        else Sample(-50.0, False, group)
        for (text, _), c in zip(questions, cases(service, embedder, questions), strict=True)
    ]


def _never(doc_id: str, start: int, end: int, quote: str) -> bool:
    return False


def dev_samples(emb: CachingEmbedder) -> list[Sample]:
    """Samples from every development split (see the module docstring)."""
    covid = load_covidqa(BENCH_DIR)
    squad = load_squad(BENCH_DIR)
    covid_dev = [q for q in covid.questions if q.group % 2 == 1]
    squad_dev = [q for q in squad.questions if q.group in range(1, 5)]
    # These tools fit the hand-weighted scorer's numbers, so they run without the learned selector.
    covid_ix, squad_ix = open_indexed(covid, emb, selector="none"), open_indexed(squad, emb, selector="none")
    covid_ix.prime([q.text for q in covid_dev + squad_dev])
    squad_ix.prime([q.text for q in covid_dev + squad_dev])
    emb.save()
    default = default_service(emb)
    covid_s, squad_s = covid_ix.service, squad_ix.service
    samples = collect(covid_s, emb, [(q.text, span_hit(q)) for q in covid_dev], "COVID-QA dev")
    samples += collect(squad_s, emb, [(q.text, span_hit(q)) for q in squad_dev if q.gold], "SQuAD dev answerable")
    samples += collect(squad_s, emb, [(q.text, _never) for q in squad_dev if not q.gold], "SQuAD dev unanswerable")
    samples += collect(squad_s, emb, [(q.text, _never) for q in covid_dev], "COVID-QA dev on SQuAD")
    samples += collect(covid_s, emb, [(q.text, _never) for q in squad_dev], "SQuAD dev on COVID-QA")
    items = read_items(DEV_FILE)
    samples += collect(default, emb, [(resolve(i.question, i.history), answer_hit(i)) for i in items], "dev.jsonl")
    return samples


def fit(samples: list[Sample]) -> tuple[float, float]:
    """Platt slope and intercept: a logistic regression of correctness on the score (effectively unregularised)."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[s.score] for s in samples])
    y = np.array([s.correct for s in samples])
    model = LogisticRegression(C=1e6, max_iter=5000).fit(x, y)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def predict(samples: list[Sample], slope: float, intercept: float) -> np.ndarray:
    """The calibrated confidence of each sample."""
    z = slope * np.array([s.score for s in samples]) + intercept
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[tuple[str, int, float, float]]:
    """(bin, count, mean confidence, share correct) per confidence decile."""
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = (p >= lo) & ((p < hi) if b < bins - 1 else (p <= hi))
        if inside.any():
            rows.append((f"{lo:.1f}-{hi:.1f}", int(inside.sum()), float(p[inside].mean()), float(y[inside].mean())))
    return rows


def coverage_accuracy(p: np.ndarray, y: np.ndarray, thresholds: list[float]) -> list[tuple[float, float, float]]:
    """(threshold, share answered, share of the answered whose first quote is right) per threshold."""
    rows = []
    for t in thresholds:
        answered = p >= t
        rows.append((t, float(answered.mean()), float(y[answered].mean()) if answered.any() else float("nan")))
    return rows


THRESHOLDS = [0.0, 0.02, 0.03, 0.04, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6]


def main(argv: list[str] | None = None) -> None:
    """Fit the confidence on the dev splits; print the scaling and the tables for docs/QUALITY.md."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    samples = dev_samples(model_embedder())
    y = np.array([s.correct for s in samples])
    groups = list(dict.fromkeys(s.group for s in samples))
    shipped = AnswerParams()
    before = predict(samples, shipped.platt_slope, shipped.platt_intercept)
    slope, intercept = fit(samples)
    after = predict(samples, slope, intercept)
    print(f"platt_slope, platt_intercept = {slope:.4f}, {intercept:.4f}")
    for label, p in (("shipped", before), ("fitted", after)):
        print(f"{label}: AUC {roc_auc(list(p), list(y)):.4f}, Brier {float(np.mean((p - y) ** 2)):.4f}")
    print("\n| confidence | n | mean confidence | share right |\n|---|---:|---:|---:|")
    for row in reliability(after, y):
        print("| {} | {} | {:.3f} | {:.3f} |".format(*row))
    header = " | ".join(f"declined: {g}" for g in groups)
    print(f"\n| decline below | answered | right among answered | {header} |")
    print("|---:" * (3 + len(groups)) + "|")
    for t, answered, right in coverage_accuracy(after, y, THRESHOLDS):
        per_group = [mean([float(after[i] < t) for i, s in enumerate(samples) if s.group == g]) for g in groups]
        print(f"| {t:.2f} | {answered:.3f} | {right:.3f} | " + " | ".join(f"{v:.3f}" for v in per_group) + " |")


if __name__ == "__main__":
    main()
