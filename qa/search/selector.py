"""The learned answer selector: a small cross-encoder that scores (question, candidate sentence) pairs.

The model folder (models/selector/, made by `make train`) holds the weights, the tokenizer files and
manifest.json, which lists every file's SHA-256, the training settings and the Platt calibration.
Nothing is downloaded: the folder is loaded as it is, or refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import SelectorError
from qa.index.store import file_sha256

MANIFEST = "manifest.json"
FORMAT = "qa-selector/1"
BATCH = 32  # pairs per forward pass: all of a question's candidates usually fit in one


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the top logit: P(the top candidate answers) = sigmoid(slope * logit + intercept)."""

    slope: float
    intercept: float


def read_manifest(folder: Path) -> dict:
    """The folder's manifest, checked against the files it lists (a changed byte is refused)."""
    if not folder.is_dir():
        raise SelectorError(f"no selector model folder at {folder} (run `make train`)")
    path = folder / MANIFEST
    if not path.is_file():
        raise SelectorError(f"{folder} has no {MANIFEST}: not a selector model folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = dict(manifest["files"])
        calibration = manifest["calibration"]
        float(calibration["slope"]), float(calibration["intercept"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SelectorError(f"{path} is damaged: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise SelectorError(f"{path} has format {manifest.get('format')!r}, this qa reads {FORMAT!r}")
    for name, digest in files.items():
        file = folder / name
        if not file.is_file():
            raise SelectorError(f"{folder} lacks {name}, which its manifest lists")
        if file_sha256(file) != digest:
            raise SelectorError(f"{file} does not match its manifest (damaged or replaced)")
    return manifest


NO_SELECTOR = "none"


def open_selector(setting: str) -> Selector | None:
    """The selector a setting names: None for "none" (the hand-weighted score), else the folder's model."""
    return None if uses_none(setting) else Selector.load(setting)


def uses_none(setting: str) -> bool:
    """Whether the setting asks for no learned selector."""
    return setting.strip().lower() == NO_SELECTOR


class Selector:
    """Scores candidate sentences for a question; higher logits mean more likely to answer it."""

    def __init__(self, folder: Path, manifest: dict, model, tokenizer) -> None:
        self.folder = folder
        self.manifest = manifest
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(manifest["settings"]["max_length"])
        cal = manifest["calibration"]
        self.calibration = Calibration(float(cal["slope"]), float(cal["intercept"]))
        # Weights and settings in one short id: an index built with other scores must notice the change.
        self.identity = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()[:16]

    @classmethod
    def load(cls, path: str | Path) -> Selector:
        """Load a selector folder offline; SelectorError when it is missing, damaged or mismatched."""
        folder = Path(path)
        manifest = read_manifest(folder)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            # Stored in float16 to halve the folder; computed in float32, which CPUs run faster.
            model = AutoModelForSequenceClassification.from_pretrained(
                str(folder), local_files_only=True, dtype=torch.float32
            ).eval()
            if manifest["settings"].get("quantize") == "int8-dynamic":
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        except Exception as exc:  # transformers raises many types for a bad folder
            raise SelectorError(f"cannot load the selector model in {folder}: {exc}") from exc
        if getattr(model.config, "num_labels", None) != 1:
            raise SelectorError(f"{folder} is not a one-logit selector (num_labels={model.config.num_labels})")
        return cls(folder, manifest, model, tokenizer)

    def score(self, question: str, candidates: list[str]) -> np.ndarray:
        """One raw logit per candidate (float32), the same for the same inputs."""
        return score_pairs(self.model, self.tokenizer, question, candidates, self.max_length)

    def calibrated(self, logit: float) -> float:
        """P(the top candidate answers the question), from its logit by the manifest's Platt scaling."""
        z = self.calibration.slope * float(logit) + self.calibration.intercept
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def score_pairs(
    model, tokenizer, question: str, candidates: list[str], max_length: int, batch: int = BATCH
) -> np.ndarray:
    """The one-logit model's score of (question, candidate) for each candidate, in padded batches (float32)."""
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(candidates), batch):
            chunk = candidates[start : start + batch]
            enc = tokenizer(
                [question] * len(chunk),
                chunk,
                truncation="longest_first",
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            out.append(model(**enc).logits[:, 0].float().numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)
