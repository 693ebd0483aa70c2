"""The cross-encoder selector: a small MiniLM that reads question and sentence together and re-orders the top
hand-scored candidates.

Its folder (models/selector/, made by `make train`) holds the transformer as an ONNX graph with float16 weights
(train/onnx_model.py; ONNX Runtime runs it in float32), its config and tokenizer beside manifest.json, which lists
every file's SHA-256, the settings below, the confidence's weights, the decline threshold, the training data hashes
and the figures reached. A pair is scored by the cosine of the mean token vectors of its question part and its
sentence part after one joint pass (train/segment_cross.py trains it through the same pooling in torch;
tests/test_rerank.py checks that the two agree).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import SelectorError

CROSS_FORMAT = "qa-selector/cross-2"
MODEL_FILES = ("config.json", "model.onnx", "tokenizer.json", "tokenizer_config.json")
# The confidence reads these, in this order (Answerer.answerability's five, then the cross-encoder's).
CONFIDENCE_FEATURES = ("dense", "coverage", "missing_specificity", "lacks_negation", "lacks_number", "cross", "margin")


@dataclass(frozen=True)
class CrossSettings:
    """How the selector combines with the hand-weighted score (from its manifest)."""

    top: int  # candidates re-ordered, best hand-scored first
    weight: float  # the cross-encoder's cosine is added to the hand score with this weight
    max_length: int
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
        return cls(top, float(s["weight"]), max_length, confidence, decline_below)


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
        self._lock = threading.Lock()  # one pass at a time: the session is shared by the server's threads
        self.tokenizer, self.session = self._load(folder)

    def _load(self, folder: Path):
        import onnxruntime
        import torch
        from transformers import AutoTokenizer

        options = onnxruntime.SessionOptions()
        # As many threads as torch was given (a served worker's share of the cores), and none left spinning
        # between questions, where they would slow the next question's encode.
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            session = onnxruntime.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ONNX Runtime's own errors derive from Exception alone
            raise SelectorError(f"{folder} is damaged: {exc}") from exc
        return tokenizer, session

    def cosines(self, question: str, sentences: list[str]) -> np.ndarray:
        """The cosine of the question's and each sentence's segment after one joint pass."""
        if not sentences:
            return np.zeros(0, np.float32)
        enc = self.tokenizer(
            [question] * len(sentences),
            sentences,
            truncation="only_second",
            max_length=self.settings.max_length,
            padding=True,
            return_tensors="np",
        )
        segment, mask = enc["token_type_ids"], enc["attention_mask"].astype(bool)
        feed = {
            "input_ids": enc["input_ids"].astype(np.int64),
            "attention_mask": enc["attention_mask"].astype(np.int64),
            "token_type_ids": np.zeros_like(segment, dtype=np.int64),  # all 0, as MiniLM was trained
        }
        with self._lock:
            hidden = self.session.run(None, feed)[0]
        return segment_cosines(hidden, (segment == 0) & mask, (segment == 1) & mask)

    def confidence(self, features: tuple[float, ...]) -> float:
        """P(the first quote answers), from the hand features and the cross-encoder's (CONFIDENCE_FEATURES)."""
        from qa.search.selector import sigmoid

        w = self.settings.confidence
        return sigmoid(w[0] + sum(a * b for a, b in zip(w[1:], features, strict=True)))


def segment_cosines(hidden: np.ndarray, question: np.ndarray, sentence: np.ndarray) -> np.ndarray:
    """Per pair, the cosine of the mean token vectors that the two masks select (MiniLM's own pooling)."""
    a, b = normalized_mean(hidden, question), normalized_mean(hidden, sentence)
    return (a * b).sum(-1).astype(np.float32)


def normalized_mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the token vectors a mask selects, L2-normalised."""
    m = mask[..., None].astype(hidden.dtype)
    pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
