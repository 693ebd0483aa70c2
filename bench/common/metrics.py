"""Ranking and decision metrics for the quality benchmarks (BEIR / trec_eval conventions)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def ndcg_at_k(ranked: Sequence[str], relevance: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k with graded gains and log2(rank + 1) discount, as trec_eval's ndcg_cut."""
    dcg = sum(relevance.get(doc, 0.0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], 1))
    ideal = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, 1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], relevance: Mapping[str, float], k: int = 100) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {doc for doc, g in relevance.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def first_hit(flags: Sequence[bool]) -> int | None:
    """1-based rank of the first True, or None."""
    return next((rank for rank, flag in enumerate(flags, 1) if flag), None)


def hit_at_k(rank: int | None, k: int) -> float:
    """1.0 when the first hit is within the top k."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    """1/rank of the first hit within the top k, else 0 (averaged over queries this is MRR@k)."""
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether [start, end) shares at least one character with any of the spans."""
    return any(start < e and s < end for s, e in spans)


def dedupe(items: Sequence[str]) -> list[str]:
    """Items in order, each kept at its first (best) position: passages ranked into documents."""
    return list(dict.fromkeys(items))


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties count half)."""
    pairs = sorted(zip(scores, positive, strict=True))
    n_pos = sum(1 for _, p in pairs if p)
    n_neg = len(pairs) - n_pos
    if not n_pos or not n_neg:
        return float("nan")
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2  # ranks i+1..j share their mean
        rank_sum += average_rank * sum(1 for _, p in pairs[i:j] if p)
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of the positive predictions (0.0 where undefined)."""
    tp = sum(1 for p, a in zip(predicted, actual, strict=True) if p and a)
    n_pred = sum(map(bool, predicted))
    n_actual = sum(map(bool, actual))
    return (tp / n_pred if n_pred else 0.0, tp / n_actual if n_actual else 0.0)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean (0.0 for no values)."""
    return sum(values) / len(values) if values else 0.0
