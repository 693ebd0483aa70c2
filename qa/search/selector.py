"""The learned answer selector: small networks over the features of qa/search/features.py.

The model folder (models/selector/, made by `make train`) holds weights.json and manifest.json, which lists
every file's SHA-256, the feature names, the training data hashes and settings, and the figures it reached.
Nothing is downloaded and nothing but numpy runs: the folder is loaded as it is, or refused.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import SelectorError
from qa.index.store import file_sha256
from qa.search.features import CANDIDATE_FEATURES, QUESTION_FEATURES
from qa.search.rerank import CROSS_FORMAT, CrossSelector

MANIFEST = "manifest.json"
WEIGHTS = "weights.json"
FORMAT = "qa-selector/2"
NO_SELECTOR = "none"
# The selector that ships inside the package (models/selector/ in the repository).
SHIPPED = "shipped"


@dataclass(frozen=True)
class Net:
    """A small fully connected network over standardized features: ReLU between layers, one logit out."""

    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    @classmethod
    def from_json(cls, data: dict, width: int) -> Net:
        """Read a network saved by train/ranker.py; ValueError when its shapes do not fit `width` features."""
        mean = np.asarray(data["mean"], dtype=np.float32)
        scale = np.asarray(data["scale"], dtype=np.float32)
        layers = tuple((np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)) for w, b in data["layers"])
        fan_in = width
        for w, b in layers:
            if w.ndim != 2 or w.shape[0] != fan_in or b.shape != (w.shape[1],):
                raise ValueError(f"a layer of shape {w.shape} does not follow {fan_in} inputs")
            fan_in = w.shape[1]
        if mean.shape != (width,) or scale.shape != (width,) or fan_in != 1 or not np.all(scale > 0):
            raise ValueError("standardization or output shape does not fit the features")
        return cls(mean, scale, layers)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """One logit per row of x."""
        z = (np.asarray(x, dtype=np.float32).reshape(-1, len(self.mean)) - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            z = z @ w + b
            if i < len(self.layers) - 1:
                z = np.maximum(z, 0.0)
        return z[:, 0]


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
    except (ValueError, KeyError, TypeError) as exc:
        raise SelectorError(f"{path} is damaged: {exc}") from exc
    if manifest.get("format") not in (FORMAT, CROSS_FORMAT):
        raise SelectorError(
            f"{path} has format {manifest.get('format')!r}, this qa reads {FORMAT!r} or {CROSS_FORMAT!r}"
        )
    for name, digest in files.items():
        file = folder / name
        if not file.is_file():
            raise SelectorError(f"{folder} lacks {name}, which its manifest lists")
        if file_sha256(file) != digest:
            raise SelectorError(f"{file} does not match its manifest (damaged or replaced)")
    return manifest


def shipped_path() -> Path:
    """The folder of the selector that ships with qa."""
    from importlib.resources import files

    return Path(str(files("qa.models") / "selector"))


def selector_path(setting: str) -> Path:
    """The folder a selector setting names ("shipped": the one inside the package)."""
    return shipped_path() if setting.strip().lower() == SHIPPED else Path(setting)


def open_selector(setting: str) -> Selector | CrossSelector | None:
    """The selector a setting names: None for "none" (the hand-weighted score), else the folder's model."""
    if uses_none(setting):
        return None
    folder = selector_path(setting)
    manifest = read_manifest(folder)
    return (
        CrossSelector(folder, manifest)
        if manifest["format"] == CROSS_FORMAT
        else Selector.from_manifest(folder, manifest)
    )


def uses_none(setting: str) -> bool:
    """Whether the setting asks for no learned selector."""
    return setting.strip().lower() == NO_SELECTOR


class Selector:
    """Scores candidate sentences by their features, and the question's best one for the confidence."""

    reranks = False  # scores every candidate from its features (CrossSelector re-reads the top ones' text)

    def __init__(self, folder: Path, manifest: dict, ranker: Net, confidence: Net, decline_below: float) -> None:
        self.folder = folder
        self.manifest = manifest
        self.ranker = ranker
        self.confidence_net = confidence
        # Chosen with the calibration on the development splits (the manifest's coverage table).
        self.decline_below = decline_below
        # Weights and settings in one short id, for `qa info` (the manifest lists the weights' SHA-256).
        self.identity = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()[:16]

    @classmethod
    def load(cls, path: str | Path) -> Selector:
        """Load a selector folder; SelectorError when it is missing, damaged or made for other features."""
        folder = Path(path)
        return cls.from_manifest(folder, read_manifest(folder))

    @classmethod
    def from_manifest(cls, folder: Path, manifest: dict) -> Selector:
        """The feature selector of a folder whose manifest read_manifest has checked."""
        for key, names in (("candidate_features", CANDIDATE_FEATURES), ("question_features", QUESTION_FEATURES)):
            if tuple(manifest.get(key, ())) != names:
                raise SelectorError(f"{folder} was trained on other {key.replace('_', ' ')} than this qa computes")
        try:
            decline_below = float(manifest["decline_below"])
            weights = json.loads((folder / WEIGHTS).read_text(encoding="utf-8"))
            ranker = Net.from_json(weights["ranker"], len(CANDIDATE_FEATURES))
            confidence = Net.from_json(weights["confidence"], len(QUESTION_FEATURES))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SelectorError(f"{folder} is damaged: {exc}") from exc
        return cls(folder, manifest, ranker, confidence, decline_below)

    def score(self, features: np.ndarray) -> np.ndarray:
        """One logit per candidate row: higher means more likely to answer the question."""
        return self.ranker(features)

    def calibrated(self, logit: float) -> float:
        """A candidate's logit as P(it answers the question)."""
        return sigmoid(logit)

    def confidence(self, question_row: np.ndarray) -> float:
        """P(the first quote answers the question), from the question's features."""
        return sigmoid(float(self.confidence_net(question_row)[0]))


def sigmoid(z: float) -> float:
    """The logistic function, without overflow for large |z|."""
    z = float(z)
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
