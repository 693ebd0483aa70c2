"""Offline DEV evaluation of a candidate scorer: P@1 on answerable questions and ROC AUC of the max score."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from train.devsets import DevItem, load_dev
from train.scorers import CosineScorer, CrossScorer, Scorer

DEFAULT_CACHE = Path("build/selector-dev.json")


@dataclass(frozen=True)
class Outcome:
    """What a scorer did on one DEV question: whether its top candidate answers, and its top score."""

    split: str
    answerable: bool
    top_correct: bool
    top_score: float


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    scores = np.concatenate([positive, negative])
    order = scores.argsort(kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks over ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return float(
        (ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative))
    )


def run(scorer: Scorer, items: list[DevItem], progress: bool = True) -> list[Outcome]:
    """Score every DEV question's candidates."""
    if hasattr(scorer, "warm"):
        scorer.warm([t for item in items for t in (item.question, *item.candidates)])
    out = []
    for item in tqdm(items, desc="dev", disable=not progress, mininterval=5):
        scores = np.asarray(scorer.score(item.question, item.candidates), dtype=np.float64)
        best = int(np.argmax(scores))
        out.append(Outcome(item.split, item.answerable, bool(item.labels[best]), float(scores[best])))
    return out


def metrics(items: list[DevItem], outcomes: list[Outcome]) -> dict[str, float]:
    """P@1 per split, candidate recall (the ceiling), and SQuAD's answerable-vs-unanswerable AUC."""
    result: dict[str, float] = {}
    for split in ("squad", "covid"):
        pairs = [(i, o) for i, o in zip(items, outcomes, strict=True) if i.split == split and i.answerable]
        if pairs:
            result[f"{split}_p1"] = round(float(np.mean([o.top_correct for _, o in pairs])), 4)
            result[f"{split}_recall"] = round(float(np.mean([any(i.labels) for i, _ in pairs])), 4)
            result[f"{split}_n"] = len(pairs)
    squad = [o for o in outcomes if o.split == "squad"]
    pos = np.array([o.top_score for o in squad if o.answerable])
    neg = np.array([o.top_score for o in squad if not o.answerable])
    result["squad_auc"] = round(roc_auc(pos, neg), 4)
    result["squad_unanswerable_n"] = len(neg)
    return result


def make_scorer(kind: str, path: str | None, quantize: bool = False, max_length: int = 128) -> Scorer:
    """A scorer of the given kind: 'cosine' (bi-encoder folder, default the bundled model) or 'cross'."""
    if kind == "cosine":
        return CosineScorer(path)
    if kind == "cross" and path:
        return CrossScorer(path, max_length=max_length, quantize=quantize)
    raise ValueError(f"unknown scorer {kind!r} (a cross scorer needs --model)")


def main() -> None:
    """Evaluate one scorer on the DEV splits and print (and optionally save) its figures as JSON."""
    import torch

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data", default="../shared", help="folder holding bench/ and train/")
    parser.add_argument("--kind", choices=("cosine", "cross"), default="cosine")
    parser.add_argument("--model", default=None, help="model folder (default: the bundled MiniLM)")
    parser.add_argument("--quantize", action="store_true", help="int8 dynamic quantization of Linear layers")
    parser.add_argument("--limit", type=int, default=0, help="questions per split (0 = all)")
    parser.add_argument("--every", type=int, default=1, help="evaluate every k-th DEV question (quick comparisons)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", default=str(DEFAULT_CACHE), help="DEV candidate cache ('' = none)")
    parser.add_argument("--out", default=None, help="write figures and per-question outcomes here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cache = Path(args.cache) if args.cache and not args.limit else None
    items = load_dev(Path(args.data), cache, args.limit)[:: args.every]
    scorer = make_scorer(args.kind, args.model, args.quantize)
    start = time.perf_counter()
    outcomes = run(scorer, items)
    figures = metrics(items, outcomes) | {"seconds": round(time.perf_counter() - start, 1)}
    what = {"kind": args.kind, "model": args.model or "bundled", "quantize": args.quantize, "every": args.every}
    print(json.dumps(what | figures))
    if args.out:
        Path(args.out).write_text(
            json.dumps({"figures": figures, "outcomes": [o.__dict__ for o in outcomes]}), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
