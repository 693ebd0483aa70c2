"""The feature selector (small networks over qa's own features; not shipped: docs/SELECTOR.md), from ../shared.

1. Index SQuAD 1.1 train articles with qa's own build and list every question's candidates with their features
   (train/ranker_data.py), through the same retrieval and candidate code as `qa ask`.
2. Fit the ranker (P(the sentence holds the answer)) on 80 % of the articles; report on the other 20 % (with a
   confidence fitted on constructed questions: the answer's paragraph removed, and off-topic articles).
3. Ask the DEV questions through QAService's retrieval and the new ranker; fit the confidence (P(the first quote
   answers)) on their question rows, cross-validated by article, and choose the decline threshold from the
   coverage table (train/devcheck.py).
4. Write weights.json and manifest.json (files' SHA-256, features, data hashes, settings, figures, versions).

Usage: python -m train.recipe [--data ../shared] [--out build/feature-selector] [--articles 60] [--limit N]
       [--dev-cache DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.index.store import file_sha256
from qa.search.features import CANDIDATE_FEATURES, QUESTION_FEATURES
from qa.search.selector import FORMAT, MANIFEST, WEIGHTS
from train.devcheck import ask_dev, choose_threshold, coverage_table
from train.ranker import (
    FitConfig,
    fit_confidence,
    fit_dev_confidence,
    fit_ranker,
    net_json,
    ranked_all,
    report,
    split,
)
from train.ranker_data import SQUAD, CorpusConfig, collect

BENCH_INPUTS = ("bench/squad2_dev_half/dev-v2.0.json", "bench/covidqa/covidqa_200423_flat.jsonl")


@dataclass(frozen=True)
class RecipeConfig:
    """Where to read and write, and the settings of each step."""

    data: str = "../shared"
    out: str = "build/feature-selector"
    work: str = "build/selector"  # the training corpus and its index (not shipped)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    dev_limit: int = 0  # DEV questions per benchmark; 0 = all (small for tests)
    dev_cache: str = "bench/out"  # DEV indexes and vectors: the bench's own cache, so each side reuses the other's


def write_folder(out: Path, weights: dict, manifest: dict) -> int:
    """Write weights.json and manifest.json into a fresh folder that replaces `out` whole; returns its bytes."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / WEIGHTS).write_text(json.dumps(weights, separators=(",", ":")) + "\n", encoding="utf-8")
    full = {"format": FORMAT, "files": {WEIGHTS: file_sha256(tmp / WEIGHTS)}} | manifest
    (tmp / MANIFEST).write_text(json.dumps(full, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return sum(p.stat().st_size for p in out.iterdir())


def base_manifest(decline_below: float) -> dict:
    """The parts of the manifest the runtime reads."""
    return {
        "candidate_features": list(CANDIDATE_FEATURES),
        "question_features": list(QUESTION_FEATURES),
        "decline_below": decline_below,
    }


def run(config: RecipeConfig) -> dict:
    """Every step of the recipe; returns the manifest written."""
    started = time.perf_counter()
    random.seed(config.fit.seed)
    np.random.seed(config.fit.seed)
    asked = collect(config.corpus, Path(config.work))
    collected = time.perf_counter()
    train, held = split(asked, config.fit)
    ranker = fit_ranker(train, config.fit)
    # The confidence of constructed questions (answer's paragraph removed, off-topic articles) stands in while
    # DEV is asked: it only reports held-out figures; the shipped confidence is fitted on DEV below.
    constructed = fit_confidence(ranked_all(ranker, train), config.fit)
    held_out = report(ranker, constructed, held)
    out = Path(config.out)
    weights = {"ranker": net_json(ranker), "confidence": net_json(constructed)}
    write_folder(out, weights, base_manifest(0.0))  # never declines: DEV is asked with every answer kept
    outcomes = ask_dev(out, Path(config.data) / "bench", Path(config.dev_cache), config.dev_limit)
    confidence, cross_validated = fit_dev_confidence(outcomes, config.fit)
    p = confidence(np.stack([o.row for o in outcomes])).astype(np.float64)
    p = 1 / (1 + np.exp(-p))
    table = coverage_table(np.array([o.right for o in outcomes]), p)
    threshold = choose_threshold(table)
    weights["confidence"] = net_json(confidence)
    manifest = base_manifest(threshold) | {
        "kind": "feature networks (no model pass of their own: the features come from qa's index and query)",
        "ranker": {"hidden": list(config.fit.ranker_hidden), "target": "the sentence holds the gold answer"},
        "confidence": {
            "hidden": list(config.fit.confidence_hidden),
            "target": "the first quote overlaps the gold answer (unanswerable and off-topic questions: no)",
            "fitted_on": "DEV question rows (SQuAD 2.0 half articles 1-4, COVID-QA odd ids, and those off topic)",
        },
        "settings": {"corpus": asdict(config.corpus) | {"root": None}, "fit": asdict(config.fit)},
        "inputs_sha256": {name: file_sha256(Path(config.data) / name) for name in (SQUAD, *BENCH_INPUTS)},
        "held_out": {k: round(v, 4) for k, v in held_out.items()},
        "dev": dev_figures(outcomes, p, threshold) | {k: round(v, 4) for k, v in cross_validated.items()},
        "coverage_table": table,
        "versions": versions(),
        "seconds": {"collect": round(collected - started, 1), "total": round(time.perf_counter() - started, 1)},
    }
    size = write_folder(out, weights, manifest)
    return manifest | {"bytes": size}


def dev_figures(outcomes, p: np.ndarray, threshold: float) -> dict:
    """DEV first-quote accuracy per benchmark and the share of answerable questions answered at the threshold."""
    figures: dict = {}
    for name in ("squad", "covidqa"):
        mine = [o for o in outcomes if o.split == name and o.answerable]
        figures[f"{name}_quote_at_1"] = round(float(np.mean([o.right for o in mine])), 4) if mine else None
    answerable = np.array([o.answerable for o in outcomes])
    figures["answerable_answered"] = round(float((p[answerable] >= threshold).mean()), 4)
    figures["questions"] = len(outcomes)
    return figures


def versions() -> dict:
    """Versions of what made the folder."""
    import sklearn

    return {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "python": platform.python_version()}


def main(argv: list[str] | None = None) -> None:
    """Run the recipe and print the figures it reached."""
    parser = argparse.ArgumentParser(prog="python -m train.recipe", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared")
    parser.add_argument("--out", default="build/feature-selector")
    parser.add_argument("--work", default="build/selector")
    parser.add_argument("--articles", type=int, default=CorpusConfig.articles, help="SQuAD articles indexed")
    parser.add_argument("--limit", type=int, default=0, help="questions per article and DEV questions (tests)")
    parser.add_argument("--dev-cache", default="bench/out", help="where DEV indexes and vectors are kept")
    args = parser.parse_args(argv)
    corpus = CorpusConfig(root=args.data, articles=args.articles, questions_per_article=args.limit)
    if args.limit:
        corpus = replace(corpus, off_topic_articles=1, off_topic_per_article=args.limit)
    config = RecipeConfig(args.data, args.out, args.work, corpus, FitConfig(), args.limit, args.dev_cache)
    manifest = run(config)
    print(json.dumps({k: manifest[k] for k in ("held_out", "dev", "decline_below", "seconds", "bytes")}, indent=1))


if __name__ == "__main__":
    main()
