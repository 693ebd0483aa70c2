"""Export a trained cross-encoder to the shipped folder: float16 weights, tokenizer, calibration and manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from qa.index.store import file_sha256
from train.evaluate import Outcome

FORMAT = "qa-encoder/1"  # encoder experiments (train.evaluate reads them); not a runtime selector
KEEP = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def fit_platt(scores: np.ndarray, labels: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """(slope, intercept) of a logistic fit of labels on scores, by Newton's method (a tiny ridge keeps it finite)."""
    x = np.stack([scores, np.ones_like(scores)], axis=1)
    w = np.zeros(2)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ w)))
        grad = x.T @ (p - labels) + 1e-4 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-4 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def coverage_table(outcomes: list[Outcome], slope: float, intercept: float) -> list[dict]:
    """For each threshold on P(top answers): share answered, their accuracy, and declines that were right."""
    probs = 1 / (1 + np.exp(-(slope * np.array([o.top_score for o in outcomes]) + intercept)))
    right = np.array([o.answerable and o.top_correct for o in outcomes])
    rows = []
    for t in THRESHOLDS:
        answered = probs >= t
        rows.append(
            {
                "threshold": t,
                "coverage": round(float(answered.mean()), 4),
                "accuracy_answered": round(float(right[answered].mean()), 4) if answered.any() else None,
                "right_decisions": round(float((answered == right).mean()), 4),
            }
        )
    return rows


def suggest_threshold(table: list[dict]) -> float:
    """The threshold with the most right decisions (quote a right sentence, or decline when none is right)."""
    return max(table, key=lambda row: (row["right_decisions"], -row["threshold"]))["threshold"]


def export_weights(trained: Path, out: Path) -> None:
    """Copy the model as float16 with its tokenizer into a fresh `out` (only the files the runtime reads)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model = AutoModelForSequenceClassification.from_pretrained(str(trained), dtype=torch.float32)
    model.half().save_pretrained(out, safe_serialization=True)
    for name in KEEP:
        if (trained / name).is_file() and not (out / name).is_file():
            shutil.copy2(trained / name, out / name)
    for extra in out.iterdir():
        if extra.name not in KEEP:
            extra.unlink()


def export_bi(trained: Path, out: Path) -> None:
    """Save a fine-tuned SentenceTransformer folder in float16 into a fresh `out` (6 layers: about 45 MB)."""
    from sentence_transformers import SentenceTransformer

    if out.exists():
        shutil.rmtree(out)
    SentenceTransformer(str(trained), device="cpu").half().save(str(out))


def write_manifest(out: Path, manifest: dict, format: str = FORMAT) -> int:
    """Write manifest.json listing every file's SHA-256 ahead of `manifest`; returns the folder's bytes."""
    paths = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    files = {str(p.relative_to(out)): file_sha256(p) for p in paths}
    full = {"format": format, "files": files} | manifest
    (out / "manifest.json").write_text(json.dumps(full, indent=1) + "\n", encoding="utf-8")
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
