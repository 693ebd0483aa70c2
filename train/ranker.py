"""Fit the feature selector: a ranker over candidate features and a confidence model over question features."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from qa.search.features import question_row
from qa.search.selector import Net
from train.ranker_data import Asked


@dataclass(frozen=True)
class FitConfig:
    """The two networks' shapes and regularization, and the held-out share of articles."""

    ranker_hidden: tuple[int, ...] = (16,)  # () = logistic regression
    confidence_hidden: tuple[int, ...] = ()
    alpha: float = 1e-3  # L2 penalty of the MLP
    c: float = 1.0  # inverse L2 penalty of logistic regression
    holdout: float = 0.2  # share of articles held out to report on
    seed: int = 13


def split(asked: list[Asked], config: FitConfig) -> tuple[list[Asked], list[Asked]]:
    """Training and held-out questions, split by article (off-topic questions split by their order)."""
    rng = np.random.default_rng(config.seed)
    articles = sorted({a.article for a in asked if a.article >= 0})
    held = set(rng.permutation(articles)[: max(1, round(len(articles) * config.holdout))].tolist())
    off = [a for a in asked if a.article < 0]
    cut = round(len(off) * (1 - config.holdout))
    train = [a for a in asked if a.article >= 0 and a.article not in held] + off[:cut]
    test = [a for a in asked if a.article in held] + off[cut:]
    return train, test


def fit_net(x: np.ndarray, y: np.ndarray, hidden: tuple[int, ...], config: FitConfig) -> Net:
    """A logistic regression (no hidden layer) or a small MLP on standardized x, as a runtime Net."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-6, x.std(axis=0), 1.0)
    z = (x - mean) / scale
    if len(set(y.tolist())) < 2:  # nothing to separate (a tiny run): the base rate, whatever the features
        rate = min(max(float(np.mean(y)), 0.01), 0.99)
        layers = ((np.zeros((x.shape[1], 1)), np.array([np.log(rate / (1 - rate))])),)
    elif hidden:
        # Early stopping holds out 10 % of the rows, which a tiny run (the tests') cannot spare.
        stop = len(y) >= 1000
        model = MLPClassifier(hidden, alpha=config.alpha, max_iter=300, random_state=config.seed, early_stopping=stop)
        model.fit(z, y)
        layers = tuple(zip(model.coefs_, model.intercepts_, strict=True))
    else:
        model = LogisticRegression(C=config.c, max_iter=1000)
        model.fit(z, y)
        layers = ((model.coef_.T, model.intercept_),)
    cast = tuple((np.asarray(w, np.float32), np.asarray(b, np.float32)) for w, b in layers)
    return Net(mean.astype(np.float32), scale.astype(np.float32), cast)


def net_json(net: Net) -> dict:
    """A Net as weights.json holds it (values rounded to 7 decimals)."""

    def values(a) -> list:
        return np.round(np.asarray(a, dtype=np.float64), 7).tolist()

    return {
        "mean": values(net.mean),
        "scale": values(net.scale),
        "layers": [[values(w), values(b)] for w, b in net.layers],
    }


def fit_ranker(train: list[Asked], config: FitConfig) -> Net:
    """The candidate ranker: P(the sentence holds the answer), over the answerable questions' candidates."""
    rows = [a for a in train if a.article >= 0]
    x = np.concatenate([a.features for a in rows])
    y = np.concatenate([a.holds for a in rows]).astype(int)
    return fit_net(x, y, config.ranker_hidden, config)


@dataclass
class Ranked:
    """One question's top candidate under the ranker, with its question features."""

    kind: str  # "answerable", "unanswerable" (answer's paragraph removed) or "off-topic"
    right: bool  # the first quote overlaps the gold answer
    sentence_right: bool  # the first sentence holds it
    row: np.ndarray


def rank(ranker: Net, a: Asked, drop_paragraph: bool = False) -> Ranked | None:
    """The ranker's choice among the question's candidates (without the answer's paragraph when asked)."""
    keep = ~a.in_paragraph if drop_paragraph else np.ones(len(a.holds), dtype=bool)
    if not keep.any():
        return None
    idx = np.flatnonzero(keep)
    logits = ranker(a.features[idx])
    order = idx[np.argsort(-logits, kind="stable")]
    top = order[0]
    row = question_row(
        np.sort(logits)[::-1],
        float(a.features[idx, 0].max()),
        float(a.features[idx, 1].max()),
        a.missing,
        a.query,
        a.quotes[top],
        a.weights,
    )
    kind = "off-topic" if a.article < 0 else ("unanswerable" if drop_paragraph else "answerable")
    answered = kind == "answerable"
    return Ranked(kind, answered and bool(a.quote_holds[top]), answered and bool(a.holds[top]), row)


def ranked_all(ranker: Net, asked: list[Asked]) -> list[Ranked]:
    """Every question ranked as asked, and each answerable one again without its answer's paragraph."""
    out = [rank(ranker, a) for a in asked]
    out += [rank(ranker, a, drop_paragraph=True) for a in asked if a.article >= 0]
    return [r for r in out if r is not None]


def fit_confidence(ranked: list[Ranked], config: FitConfig) -> Net:
    """P(the first quote answers), over answerable, on-topic unanswerable and off-topic questions."""
    x = np.stack([r.row for r in ranked])
    y = np.array([r.right for r in ranked], dtype=int)
    return fit_net(x, y, config.confidence_hidden, config)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by ranks (ties share their mean rank)."""
    from scipy.stats import rankdata

    pos = positive.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def report(ranker: Net, confidence: Net, asked: list[Asked]) -> dict[str, float]:
    """Held-out figures: P@1 of the first sentence and quote, the hand score's P@1, and decline AUCs."""
    ranked = ranked_all(ranker, asked)
    answerable = [r for r in ranked if r.kind == "answerable"]
    p = np.array([float(confidence(r.row[None, :])[0]) for r in ranked])
    kinds = np.array([r.kind for r in ranked])
    on = kinds != "off-topic"
    off = kinds != "unanswerable"
    return {
        "questions": float(len(answerable)),
        "sentence_p_at_1": float(np.mean([r.sentence_right for r in answerable])),
        "quote_p_at_1": float(np.mean([r.right for r in answerable])),
        "hand_sentence_p_at_1": float(np.mean([a.holds[0] for a in asked if a.article >= 0])),
        "hand_quote_p_at_1": float(np.mean([a.quote_holds[0] for a in asked if a.article >= 0])),
        "auc_on_topic": roc_auc(p[on], kinds[on] == "answerable"),
        "auc_off_topic": roc_auc(p[off], kinds[off] == "answerable"),
    }


def fit_dev_confidence(outcomes: list, config: FitConfig, folds: int = 4) -> tuple[Net, dict[str, float]]:
    """The confidence model fitted on the DEV question rows, and its AUCs when each fold of groups is held out."""
    x = np.stack([o.row for o in outcomes])
    y = np.array([o.right for o in outcomes], dtype=int)
    # crc32, not hash(): Python salts string hashes per process, and the folds must be the same every run.
    groups = np.array([zlib.crc32(f"{o.split}:{o.group}".encode()) % folds for o in outcomes])
    held = np.zeros(len(outcomes))
    for fold in range(folds):
        test = groups == fold
        held[test] = fit_net(x[~test], y[~test], config.confidence_hidden, config)(x[test])
    splits = np.array([o.split for o in outcomes])
    answerable = np.array([o.answerable for o in outcomes])
    squad = splits == "squad"
    versus_off = (splits == "off-topic") | (squad & answerable)
    figures = {
        "cv_auc_squad_on_topic": roc_auc(held[squad], answerable[squad]),
        "cv_auc_squad_off_topic": roc_auc(held[versus_off], answerable[versus_off]),
        "cv_auc_right_first_quote": roc_auc(held, y.astype(bool)),
    }
    return fit_net(x, y, config.confidence_hidden, config), figures
