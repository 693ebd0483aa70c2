"""Calibrate the cross-encoder selector on the development splits, through the retrieval users run.

The DEV questions (train/devcheck.py: SQuAD 2.0 half articles 1-4, COVID-QA odd ids, those off topic) are asked
once with the selector at weight 0, which keeps the hand-weighted order and records each top candidate's cosine.
For every top candidate, whether its quote (as `qa ask` would cut it) overlaps the gold answer, and what the
confidence would read were it first, are recorded, so the weight, the confidence and the decline threshold are
all chosen from that one pass.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common.data import Question
from bench.common.metrics import overlaps
from qa.search.mismatch import lacks_negation, lacks_number
from qa.search.params import DEFAULT_ANSWER, AnswerParams
from qa.search.rerank import CONFIDENCE_FEATURES
from train.devcheck import ask_each, selected
from train.evaluate import roc_auc

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
TOPS = (3, 5, 10)  # candidates re-scored: the cost grows with them (docs/SELECTOR.md)
TOLERANCE = 0.003  # of mean quote@1 given up for fewer candidates
SPLITS = ("squad", "covidqa")


@dataclass(frozen=True)
class Asked:
    """One DEV question's top candidates in hand-weighted order."""

    split: str  # "squad", "covidqa" or "off-topic"
    group: int  # SQuAD article or COVID-QA document id (cross-validation folds)
    answerable: bool
    base: tuple[float, float, float]  # best cosine, best coverage, missing specificity (order-free)
    score: np.ndarray  # hand scores
    cross: np.ndarray  # the cross-encoder's cosines
    right: np.ndarray  # each one's quote overlaps a gold answer
    mismatch: np.ndarray  # [n, 2]: the question's negation / number its quote lacks

    def first(self, weight: float, top: int) -> int:
        """Which of the first `top` candidates comes first when the cosine is added with `weight` (ties: the hand
        order)."""
        return int(np.argmax(self.score[:top] + weight * self.cross[:top]))

    def confidence_row(self, weight: float, top: int) -> np.ndarray:
        """The CONFIDENCE_FEATURES of the first quote at `weight` over the first `top` candidates."""
        z = self.score[:top] + weight * self.cross[:top]
        i = int(np.argmax(z))
        margin = float(z[i] - np.max(np.delete(z, i))) if len(z) > 1 else 0.0
        return np.array([*self.base, *self.mismatch[i], self.cross[i], margin], dtype=np.float64)


def ask(selector: Path, bench_dir: Path, cache: Path, limit: int = 0) -> list[Asked]:
    """Every DEV question through QAService's retrieval and the selector folder (its manifest's weight: 0)."""
    return ask_each(selector, bench_dir, cache, limit, _asked)


def _asked(service, name: str, q: Question) -> Asked:
    r, answerer, query, vector, _, cands = selected(service, q.text)
    top = [c for c in cands if c.cross is not None]
    right, mismatch = [], []
    for c in top:
        doc_i, start, end = answerer.quote_span(c.sentence, vector)
        doc = r.document(doc_i)
        right.append(doc.doc_id in q.gold and overlaps(start, end, q.gold[doc.doc_id]))
        quote = doc.text[start:end]
        mismatch.append((lacks_negation(query, quote), lacks_number(query, quote)))
    base = answerer.answerability_features(query, cands, "")[:3]
    return Asked(
        name,
        q.group,
        bool(q.gold),
        base,
        np.array([c.score for c in top]),
        np.array([c.cross for c in top]),
        np.array(right, dtype=bool),
        np.array(mismatch, dtype=np.float64).reshape(-1, 2),
    )


def quote_at_1(asked: list[Asked], weight: float, top: int, split: str) -> float:
    """Share of the split's answerable questions whose first quote is right at `weight` over `top` candidates."""
    mine = _answerable(asked, split)
    return float(np.mean([a.right[a.first(weight, top)] for a in mine])) if mine else float("nan")


def ceiling(asked: list[Asked], top: int, split: str) -> float:
    """Share of the split's answerable questions with a right quote among the first `top` candidates: the
    quote@1 a perfect re-ranker of those candidates would reach."""
    mine = _answerable(asked, split)
    return float(np.mean([a.right[:top].any() for a in mine])) if mine else float("nan")


def _answerable(asked: list[Asked], split: str) -> list[Asked]:
    return [a for a in asked if a.split == split and a.answerable and len(a.score)]


def choose(asked: list[Asked], max_top: int = max(TOPS), weights: tuple[float, ...] = WEIGHTS):
    """(top, weight, table): the best mean quote@1 over SQuAD and COVID-QA DEV with at most `max_top` candidates
    (the cost), and the fewest candidates whose best comes within TOLERANCE of it. The table has every TOPS, each
    row with the ceiling of its candidates."""
    ceilings = {n: {f"{s}_ceiling": round(ceiling(asked, n, s), 4) for s in SPLITS} for n in TOPS}
    table = [
        {
            "top": n,
            "weight": w,
            **{f"{s}_quote_at_1": round(quote_at_1(asked, w, n, s), 4) for s in SPLITS},
            **ceilings[n],
        }
        for n in TOPS
        for w in weights
    ]
    mean = {id(row): float(np.nanmean([row[f"{s}_quote_at_1"] for s in SPLITS])) for row in table}
    allowed = [n for n in TOPS if n <= max_top] or [min(TOPS)]
    best = max(mean[id(r)] for r in table if r["top"] in allowed)
    fewest = min(n for n in allowed if any(r["top"] == n and mean[id(r)] >= best - TOLERANCE for r in table))
    row = max((r for r in table if r["top"] == fewest), key=lambda r: (mean[id(r)], -r["weight"]))
    return fewest, row["weight"], table


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> np.ndarray:
    """Intercept and weights of an L2 logistic regression, on the raw features (standardized inside)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(0), x.std(0) + 1e-9
    model = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / scale, y)
    w = model.coef_[0] / scale
    return np.concatenate([[model.intercept_[0] - float(w @ mean)], w])


def hand_weights(params: AnswerParams = DEFAULT_ANSWER) -> np.ndarray:
    """The hand rule's confidence (Answerer.answerability under its Platt scaling) as weights over
    CONFIDENCE_FEATURES: none on the cross-encoder's own."""
    slope = params.platt_slope
    intercept = slope * params.conf_intercept + params.platt_intercept
    return np.array([intercept, *(slope * w for w in params.conf_weights), 0.0, 0.0])


def _aucs(usable: list[Asked], p: np.ndarray, right: np.ndarray) -> dict[str, float]:
    split = np.array([a.split for a in usable])
    answerable = np.array([a.answerable for a in usable])
    squad = split == "squad"
    off = (split == "off-topic") | (squad & answerable)
    figures = {
        "auc_squad_on_topic": roc_auc(p[squad & answerable], p[squad & ~answerable]),
        "auc_squad_off_topic": roc_auc(p[off & answerable], p[off & ~answerable]),
        "auc_right_first_quote": roc_auc(p[right], p[~right]),
    }
    return {k: round(v, 4) for k, v in figures.items()}


def with_cross(hand: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Weights over CONFIDENCE_FEATURES of `fitted[0] + fitted[1] x (the hand rule's logit) + fitted[2] x cross`."""
    w = fitted[1] * hand
    w[0] += fitted[0]
    w[1 + CONFIDENCE_FEATURES.index("cross")] += fitted[2]
    return w


def fit_confidence(asked: list[Asked], weight: float, top: int, folds: int = 4) -> tuple[np.ndarray, np.ndarray, dict]:
    """The confidence's weights, its probabilities on DEV and the figures it was chosen by. Three candidates, each
    fitted by logistic regression (target: the first quote is right; figures held out by group fold) except the
    first: the hand rule; the hand rule's logit and the cross-encoder's cosine; every feature. Chosen: of those
    that separate on-topic and off-topic unanswerable questions and wrong first quotes at least as well as the
    hand rule, the best on on-topic ones and wrong first quotes together."""
    usable = [a for a in asked if len(a.score)]
    x = np.stack([a.confidence_row(weight, top) for a in usable])
    y = np.array([bool(a.right[a.first(weight, top)]) for a in usable])
    # crc32, not hash(): Python salts string hashes per process, and the folds must be the same every run.
    fold = np.array([zlib.crc32(f"{a.split}:{a.group}".encode()) % folds for a in usable])
    hand = hand_weights()
    logit = hand[0] + x @ hand[1:]
    two = np.column_stack([logit, x[:, CONFIDENCE_FEATURES.index("cross")]])
    candidates = {
        "hand rule": (hand, _sigmoid(logit)),
        "hand rule and cross": (with_cross(hand, fit_logistic(two, y)), _held_out(two, y, fold)),
        "fitted": (fit_logistic(x, y), _held_out(x, y, fold)),
    }
    figures = {name: _aucs(usable, p, y) for name, (_, p) in candidates.items()}
    fair = [n for n in candidates if all(figures[n][k] >= figures["hand rule"][k] for k in figures[n])]
    chosen = max(fair, key=lambda n: figures[n]["auc_squad_on_topic"] + figures[n]["auc_right_first_quote"])
    return *candidates[chosen], figures | {"chosen": chosen}


def _held_out(x: np.ndarray, y: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Each row's probability from a logistic regression fitted on the other folds."""
    p = np.zeros(len(y))
    for f in np.unique(fold):
        w = fit_logistic(x[fold != f], y[fold != f])
        p[fold == f] = _sigmoid(w[0] + x[fold == f] @ w[1:])
    return p


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))
