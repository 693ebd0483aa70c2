"""Models trained from the bundled MiniLM: a cross-encoder with a fresh one-logit head, or the bi-encoder itself."""

from __future__ import annotations

import torch
from torch import nn

from train.scorers import bundled_path


def keep_layers(bert: nn.Module, layers: int) -> None:
    """Keep only the first `layers` transformer layers (lower layers carry most of the lexical matching)."""
    total = len(bert.encoder.layer)
    if not 1 <= layers <= total:
        raise ValueError(f"layers must be 1..{total}, got {layers}")
    bert.encoder.layer = nn.ModuleList(list(bert.encoder.layer)[:layers])
    bert.config.num_hidden_layers = layers


def build_cross(layers: int, seed: int):
    """(model, tokenizer): MiniLM's first `layers` layers under a freshly initialised 1-logit head."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "newly initialized classifier" is the point, not a warning
    torch.manual_seed(seed)  # the head's initial weights
    path = bundled_path()
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
    keep_layers(model.bert, layers)
    model.config.num_hidden_layers = layers
    return model, AutoTokenizer.from_pretrained(path)


def build_bi(layers: int, seed: int):
    """The bundled SentenceTransformer (mean pooling, normalised), optionally cut to its first layers."""
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(seed)
    model = SentenceTransformer(bundled_path(), device="cpu")
    keep_layers(model[0].auto_model, layers)
    return model


def parameter_groups(model: nn.Module, lr: float, head_lr: float, head_prefix: str = "classifier") -> list[dict]:
    """Pre-trained weights at `lr`; the fresh head faster, since it starts from noise."""
    head = [p for n, p in model.named_parameters() if n.startswith(head_prefix)]
    body = [p for n, p in model.named_parameters() if not n.startswith(head_prefix)]
    return [{"params": body, "lr": lr}, {"params": head, "lr": head_lr}]
