"""The cross-encoder selector: a small MiniLM that reads question and sentence together and re-orders the top
hand-scored candidates.

Its folder (models/selector/, made by `make train`) holds the transformer's config, float16 weights and
tokenizer beside manifest.json, which lists every file's SHA-256, the settings below, the confidence's weights,
the decline threshold, the training data hashes and the figures reached. A pair is scored by the cosine of the
mean token vectors of its question part and its sentence part after one joint pass (train/segment_cross.py).
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import SelectorError

CROSS_FORMAT = "qa-selector/cross-1"
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
# The confidence reads these, in this order (Answerer.answerability's five, then the cross-encoder's).
CONFIDENCE_FEATURES = ("dense", "coverage", "missing_specificity", "lacks_negation", "lacks_number", "cross", "margin")


@dataclass(frozen=True)
class CrossSettings:
    """How the selector combines with the hand-weighted score (from its manifest)."""

    top: int  # candidates re-ordered, best hand-scored first
    weight: float  # the cross-encoder's cosine is added to the hand score with this weight
    max_length: int
    quantize: bool  # int8 dynamic quantization of the Linear layers at load
    confidence: tuple[float, ...]  # intercept, then one weight per CONFIDENCE_FEATURES
    decline_below: float

    @classmethod
    def from_manifest(cls, manifest: dict) -> CrossSettings:
        """The manifest's settings; ValueError/KeyError/TypeError when they are missing or malformed."""
        s = manifest["rerank"]
        confidence = tuple(float(w) for w in manifest["confidence"]["weights"])
        if len(confidence) != len(CONFIDENCE_FEATURES) + 1 or tuple(manifest["confidence"]["features"]) != (
            CONFIDENCE_FEATURES
        ):
            raise ValueError("the confidence was fitted on other features than this qa computes")
        top, max_length = int(s["top"]), int(s["max_length"])
        if top < 1 or max_length < 8:
            raise ValueError("rerank.top must be >= 1 and rerank.max_length >= 8")
        decline_below = float(manifest["decline_below"])
        return cls(top, float(s["weight"]), max_length, bool(s["quantize"]), confidence, decline_below)


class CrossSelector:
    """Re-scores the top candidates with the cross-encoder; gives the first quote's confidence."""

    reranks = True

    def __init__(self, folder: Path, manifest: dict) -> None:
        try:
            self.settings = CrossSettings.from_manifest(manifest)
        except (KeyError, TypeError, ValueError) as exc:
            raise SelectorError(f"{folder} is damaged: {exc}") from exc
        missing = [name for name in MODEL_FILES if name not in manifest["files"]]
        if missing:
            raise SelectorError(f"{folder} lacks {', '.join(missing)}: not a cross-encoder selector folder")
        self.folder = folder
        self.manifest = manifest
        self.decline_below = self.settings.decline_below
        self.identity = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()[:16]
        self._lock = threading.Lock()  # one torch pass at a time: the model is shared by the server's threads
        self.tokenizer, self.model = self._load(folder)

    def _load(self, folder: Path):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weight-loading bar on every start is noise
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            model = AutoModel.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32).eval()
        except (OSError, ValueError, RuntimeError) as exc:
            raise SelectorError(f"{folder} is damaged: {exc}") from exc
        if self.settings.quantize:
            with warnings.catch_warnings():  # torch announces a new quantization API; this one is what 2.x runs
                warnings.simplefilter("ignore", UserWarning)
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return tokenizer, model

    def cosines(self, question: str, sentences: list[str]) -> np.ndarray:
        """The cosine of the question's and each sentence's segment after one joint pass."""
        if not sentences:
            return np.zeros(0, np.float32)
        import torch

        with self._lock, torch.inference_mode():
            scores = segment_cosines(
                self.model, self.tokenizer, [question] * len(sentences), sentences, self.settings.max_length
            )
        return scores.numpy().astype(np.float32)

    def confidence(self, features: tuple[float, ...]) -> float:
        """P(the first quote answers), from the hand features and the cross-encoder's (CONFIDENCE_FEATURES)."""
        from qa.search.selector import sigmoid

        w = self.settings.confidence
        return sigmoid(w[0] + sum(a * b for a, b in zip(w[1:], features, strict=True)))


def segment_cosines(model, tokenizer, questions: list[str], sentences: list[str], max_length: int):
    """One joint pass over each (question, sentence) pair, token types all 0 as MiniLM was trained; the cosine of
    the mean token vectors of the question's part and the sentence's part (a tensor, one per pair). Training
    (train/segment_cross.py) and serving score pairs through this one function."""
    import torch

    # The longer of the two is cut first: a question is rarely more than a few tokens of the pair, and a long one
    # (up to MAX_QUESTION_CHARS) must leave its sentence room rather than fail ("only_second" raised for it).
    enc = tokenizer(
        questions, sentences, truncation="longest_first", max_length=max_length, padding=True, return_tensors="pt"
    )
    segment = enc["token_type_ids"]
    enc["token_type_ids"] = torch.zeros_like(segment)
    hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].bool()
    return (normalized_mean(hidden, (segment == 0) & mask) * normalized_mean(hidden, (segment == 1) & mask)).sum(-1)


def normalized_mean(hidden, mask):
    """Average of the token vectors a mask selects (MiniLM's own pooling), L2-normalised."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)
