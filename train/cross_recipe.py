"""The recipe behind `make train`: the shipped cross-encoder selector, from ../shared to models/selector/.

1. Train the segment-cosine cross-encoder (train/segment_cross.py) on MiniLM's first layers: SQuAD 1.1 train,
   MedQuAD and SelQA questions, each with its answer sentence and hard negatives (train/data.py).
2. Save it as float16 with its tokenizer, and ask every DEV question through QAService with it (train/crossdev.py).
3. Choose, from that one pass, how many candidates it re-scores and the weight of its cosine beside the hand
   score (best mean quote@1 of SQuAD and COVID-QA DEV within the cost bound `max_top`; the fewest candidates
   within 0.3 points of it), fit the confidence (the hand rule, or a logistic regression cross-validated by article
   where it separates at least as well: train.crossdev.fit_confidence) and pick the decline threshold from the
   coverage table (train/devcheck.py's rule).
4. Write manifest.json (every file's SHA-256, settings, data hashes, figures, versions); the folder replaces
   `out` whole.

Usage: python -m train.cross_recipe [--data ../shared] [--out models/selector] [--layers 4] [--steps 1500] [--seed 0]
       [--limit N] [--dev-cache bench/out] [--trained FOLDER (skip step 1: re-calibrate that folder's model)]
       [--more-steps N (train on, the same objective; off by default)]
       [--answerable-steps N (train on for "not answered here"; off by default)] [--first FOLDER (the first part
       of step 1 taken from that folder)]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from qa.search.rerank import CONFIDENCE_FEATURES, CROSS_FORMAT
from qa.search.selector import read_manifest
from train.crossdev import TOPS, ask, choose, fit_confidence
from train.data import DataConfig, input_hashes
from train.devcheck import choose_threshold, coverage_table
from train.export import write_manifest
from train.segment_cross import CrossConfig, SegmentCosine, fit


def after(part: CrossConfig) -> int:
    """The first training group after a part's: the next part starts there, on groups not seen yet."""
    return part.start + part.steps * part.groups_per_step


# The shipped run's training settings (docs/SELECTOR.md: why these layers and steps).
TRAIN = CrossConfig(steps=1500, layers=4, lr=5e-5, warmup=100, sample=0)
# Then the same objective on groups not seen yet, the learning rate warmed up and decayed again. Off by default:
# 1,500 more steps moved SQuAD DEV up and COVID-QA DEV down by under a point each (docs/SELECTOR.md, stop 27).
MORE = replace(TRAIN, steps=0, start=after(TRAIN))
# Then, on groups not seen yet, answerability: some groups' right choice is "none of these" (train/unanswerable.py).
# Off by default: 300 steps raised the cosine's on-topic AUC (0.566 -> 0.62 on DEV) but no confidence built on it
# beat the hand rule on all three DEV AUCs, and quote@1 did not move (docs/SELECTOR.md, stop 23). 300 is measured.
ANSWERABLE = CrossConfig(
    steps=0,
    layers=TRAIN.layers,
    lr=2e-5,
    warmup=30,
    sample=0,
    start=after(MORE),
    dropped_share=0.15,
    changed_share=0.25,
)


@dataclass(frozen=True)
class CrossRecipe:
    """What the recipe trains and how the selector is combined and calibrated."""

    train: CrossConfig = field(default_factory=lambda: TRAIN)
    more: CrossConfig = field(default_factory=lambda: MORE)
    answerable: CrossConfig = field(default_factory=lambda: ANSWERABLE)
    top: int = max(TOPS)  # candidates re-scored on DEV; the recipe ships the fewest that do as well
    # The cost bound: 5 pairs through 4 layers made `ask` 5.4x a bare encode, over the 4x (docs/SELECTOR.md).
    max_top: int = 3
    # No int8: dynamic quantization scales by the whole batch, so a pair's score would hang on its batch mates.
    quantize: bool = False
    dev_limit: int = 0  # DEV questions per set; 0 = all (small for tests)
    dev_cache: str = "bench/out"  # DEV indexes and vectors: the bench's own cache


def save_model(scorer: SegmentCosine, out: Path) -> None:
    """The transformer as float16 and its tokenizer, in a fresh folder."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    scorer.model.half().save_pretrained(out, safe_serialization=True)
    scorer.model.float()
    scorer.tokenizer.save_pretrained(out)


def runtime_manifest(
    recipe: CrossRecipe, top: int, weight: float, confidence: np.ndarray, decline_below: float
) -> dict:
    """The parts of the manifest qa/search/rerank.py reads."""
    return {
        "rerank": {
            "top": top,
            "weight": weight,
            "max_length": recipe.train.max_length,
            "quantize": recipe.quantize,
        },
        "confidence": {"features": list(CONFIDENCE_FEATURES), "weights": [round(float(w), 6) for w in confidence]},
        "decline_below": decline_below,
    }


def train_model(recipe: CrossRecipe, data: str, tmp: Path, first: Path | None = None) -> dict:
    """Step 1: train (its first part taken from `first`, a folder this recipe wrote, when given), train on, then
    for answerability, and save the model into tmp; returns the training record for the manifest."""
    import torch

    started = time.perf_counter()
    config = replace(recipe.train, data=data)
    if first:
        # Checked against its files; its own training record, and which model this run trained on from.
        manifest = read_manifest(first)
        record = manifest["training"] | {"first_model_sha256": manifest["files"]["model.safetensors"]}
        scorer = SegmentCosine(config.max_length, config.layers, first)
    else:
        torch.manual_seed(config.seed)
        scorer = SegmentCosine(config.max_length, config.layers)
        record = {"train": asdict(config) | {"data": None}, "losses": fit(scorer, config)}
        # Rounded as a saved folder holds it, so that training on from `first` gives the same model.
        scorer.model.half().float()
    for part in ("more", "answerable"):
        tune = replace(getattr(recipe, part), data=data)
        # Each part starts as a folder would load it, so that training on from `first` gives the same model.
        torch.manual_seed(tune.seed)
        with torch.no_grad():
            scorer.scale.fill_(20.0)
        record[part] = {"train": asdict(tune) | {"data": None}, "losses": fit(scorer, tune)}
    save_model(scorer, tmp)
    return record | {"seconds": round(time.perf_counter() - started)}


def reuse_model(trained: Path, tmp: Path) -> dict:
    """Step 1 skipped: the model of a folder this recipe wrote, copied into tmp, with its training record."""
    record = json.loads((trained / "manifest.json").read_text(encoding="utf-8"))
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(trained, tmp, ignore=shutil.ignore_patterns("manifest.json"))
    return record["training"]


def run(recipe: CrossRecipe, data: str, out: Path, trained: Path | None = None, first: Path | None = None) -> dict:
    """Every step of the recipe (step 1 taken from `trained`, or its first part from `first`, when given); returns
    the manifest written."""
    started = time.perf_counter()
    tmp = out.with_name(out.name + ".tmp")
    training = reuse_model(trained, tmp) if trained else train_model(recipe, data, tmp, first)
    # Weight 0 keeps the hand order while the cosines are recorded; the confidence is fitted below.
    zero = np.zeros(len(CONFIDENCE_FEATURES) + 1)
    write_manifest(tmp, runtime_manifest(recipe, recipe.top, 0.0, zero, 0.0), CROSS_FORMAT)
    asked = ask(tmp, Path(data) / "bench", Path(recipe.dev_cache), recipe.dev_limit)
    top, weight, choices = choose(asked, recipe.max_top)
    confidence, held, chosen_by = fit_confidence(asked, weight, top)
    right = np.array([a.right[a.first(weight, top)] for a in asked if len(a.score)])
    table = coverage_table(right, held)
    threshold = choose_threshold(table)
    manifest = runtime_manifest(recipe, top, weight, confidence, threshold) | {
        "kind": "segment-cosine cross-encoder re-ranking the top hand-scored candidates (train/cross_recipe.py)",
        "training": training,
        "settings": {k: v for k, v in asdict(recipe).items() if k != "train"},
        "data": input_hashes(DataConfig(root=data)),
        "dev": {"choices": choices, "top": top, "weight": weight, "confidence": chosen_by, "coverage_table": table},
        "versions": versions(),
        "seconds": {"calibrate": round(time.perf_counter() - started)},
    }
    size = write_manifest(tmp, manifest, CROSS_FORMAT)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return manifest | {"bytes": size}


def versions() -> dict:
    """Versions of what made the folder."""
    import sklearn
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the recipe and print the figures it reached."""
    parser = argparse.ArgumentParser(prog="python -m train.cross_recipe", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared")
    parser.add_argument("--out", type=Path, default=Path("models/selector"))
    parser.add_argument("--layers", type=int, default=TRAIN.layers, help="MiniLM layers kept")
    parser.add_argument("--steps", type=int, default=TRAIN.steps, help="training steps")
    parser.add_argument("--seed", type=int, default=TRAIN.seed, help="training seed (dropout, negatives drawn)")
    parser.add_argument("--limit", type=int, default=0, help="DEV questions per set (tests)")
    parser.add_argument("--dev-cache", default="bench/out", help="where DEV indexes and vectors are kept")
    parser.add_argument("--trained", type=Path, help="skip training: re-calibrate the model of a folder it wrote")
    parser.add_argument("--more-steps", type=int, default=MORE.steps, help="steps trained on, on groups not seen yet")
    parser.add_argument(
        "--answerable-steps", type=int, default=ANSWERABLE.steps, help="answerability steps (measured: 300)"
    )
    parser.add_argument("--first", type=Path, help="skip the first part of training: train on from a folder it wrote")
    args = parser.parse_args(argv)
    train = replace(TRAIN, layers=args.layers, steps=args.steps, seed=args.seed)
    more = replace(MORE, layers=args.layers, steps=args.more_steps, seed=args.seed, start=after(train))
    answerable = replace(ANSWERABLE, layers=args.layers, steps=args.answerable_steps, start=after(more))
    recipe = CrossRecipe(train, more, answerable, dev_limit=args.limit, dev_cache=args.dev_cache)
    manifest = run(recipe, args.data, args.out, args.trained, args.first)
    print(json.dumps({k: manifest[k] for k in ("rerank", "decline_below", "dev", "bytes")}, indent=1))


if __name__ == "__main__":
    main()
