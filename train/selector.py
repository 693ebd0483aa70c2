"""Train an answer selector: `python -m train.selector --kind cross --layers 2 --steps 3000 --out DIR`."""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from qa.search.rerank import normalized_mean
from train.data import DataConfig, Group, input_hashes, load_groups
from train.models import build_bi, build_cross, parameter_groups


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run (recorded in the manifest)."""

    kind: str = "cross"  # "cross": (question, sentence) -> logit; "bi": fine-tuned question/sentence embedder
    layers: int = 2
    steps: int = 3000
    questions_per_step: int = 8
    negatives: int = 3  # cross: negatives per question in its group; bi: hard negatives per question
    max_length: int = 128
    lr: float = 5e-5
    head_lr: float = 1e-3
    warmup: float = 0.06
    scale: float = 20.0  # bi: cosine scale inside the softmax (MultipleNegativesRankingLoss's default)
    freeze_words: bool = True  # the 30k x 384 word table: most of the weights, little to gain, slow to update
    seed: int = 13


def seed_everything(seed: int) -> None:
    """Fix every random source the recipe uses."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def schedule(step: int, config: TrainConfig) -> float:
    """Linear warm-up then linear decay to zero, as a factor of the base learning rate."""
    warm = max(1, int(config.steps * config.warmup))
    if step < warm:
        return (step + 1) / warm
    return max(0.0, (config.steps - step) / max(1, config.steps - warm))


def batches(groups: list[Group], config: TrainConfig) -> list[tuple[list[Group], list[list[str]]]]:
    """Per step: its questions and, for each, the negatives drawn for it (cycling through the data)."""
    rng = random.Random(config.seed)
    out, cursor = [], 0
    for _ in range(config.steps):
        chosen = []
        for _ in range(config.questions_per_step):
            chosen.append(groups[cursor % len(groups)])
            cursor += 1
        negs = [rng.sample(g.negatives, min(config.negatives, len(g.negatives))) for g in chosen]
        out.append((chosen, negs))
    return out


def cross_loss(model, tokenizer, chosen: list[Group], negs: list[list[str]], config: TrainConfig, rng) -> torch.Tensor:
    """Pointwise BCE (absolute scores, for declining) plus listwise softmax over each question's candidates."""
    questions, texts, labels, sizes = [], [], [], []
    for group, negatives in zip(chosen, negs, strict=True):
        cands = [rng.choice(group.positives), *negatives]
        questions += [group.question] * len(cands)
        texts += cands
        labels += [1.0] + [0.0] * len(negatives)
        sizes.append(len(cands))
    enc = tokenizer(
        questions, texts, truncation="longest_first", max_length=config.max_length, padding=True, return_tensors="pt"
    )
    logits = model(**enc).logits[:, 0]
    bce = nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(labels))
    listwise = torch.stack(
        [
            nn.functional.cross_entropy(part.unsqueeze(0), torch.zeros(1, dtype=torch.long))
            for part in logits.split(sizes)
        ]
    ).mean()
    return bce + listwise


def bi_loss(model, chosen: list[Group], negs: list[list[str]], config: TrainConfig, rng) -> torch.Tensor:
    """MultipleNegativesRankingLoss: each question against all positives and hard negatives in the batch."""
    auto, tokenizer = model[0].auto_model, model[0].tokenizer

    def embed(texts: list[str], max_length: int) -> torch.Tensor:
        enc = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        return normalized_mean(auto(**enc).last_hidden_state, enc["attention_mask"])

    questions = [g.question for g in chosen]
    docs = [rng.choice(g.positives) for g in chosen] + [n for ns in negs for n in ns]
    sims = embed(questions, 64) @ embed(docs, config.max_length).T * config.scale
    return nn.functional.cross_entropy(sims, torch.arange(len(chosen)))


def train(config: TrainConfig, data: DataConfig, out: Path, progress: bool = True, threads: int = 2) -> dict:
    """Run the recipe and save the model into `out`; returns what the manifest records about training."""
    torch.set_num_threads(threads)
    seed_everything(config.seed)
    started = time.perf_counter()
    groups = load_groups(data)
    if not groups:
        raise SystemExit("no training groups: check --data")
    if config.kind == "cross":
        model, tokenizer = build_cross(config.layers, config.seed)
        params = parameter_groups(model, config.lr, config.head_lr)
    else:
        model = build_bi(config.layers, config.seed)
        params = parameter_groups(model, config.lr, config.lr)
    if config.freeze_words:
        for name, param in model.named_parameters():
            if "word_embeddings" in name:
                param.requires_grad_(False)
    params = [{"params": [p for p in g["params"] if p.requires_grad], "lr": g["lr"]} for g in params]
    optimizer = torch.optim.AdamW(params, weight_decay=0.01)
    bases = [g["lr"] for g in optimizer.param_groups]
    rng = random.Random(config.seed + 1)
    model.train()
    losses = []
    bar = tqdm(
        batches(groups, config), desc=f"train {config.kind}-{config.layers}L", disable=not progress, mininterval=10
    )
    for step, (chosen, negs) in enumerate(bar):
        for group, base in zip(optimizer.param_groups, bases, strict=True):
            group["lr"] = base * schedule(step, config)
        if config.kind == "cross":
            loss = cross_loss(model, tokenizer, chosen, negs, config, rng)
        else:
            loss = bi_loss(model, chosen, negs, config, rng)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss))
        if step % 50 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    if config.kind == "cross":
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
    else:
        model.save(str(out))
    return {
        "groups_available": len(groups),
        "questions_seen": config.steps * config.questions_per_step,
        "final_loss": round(float(np.mean(losses[-100:])), 4),
        "train_seconds": round(time.perf_counter() - started, 1),
    }


def _flag(text: str) -> bool:
    return text.lower() in ("1", "true", "yes")


def main() -> None:
    """Train one selector model and write it, with a small JSON record of the run, into --out."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data", default="../shared", help="folder holding train/ and bench/")
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=0, help="records per source (0 = all; small for tests)")
    # On a busy 2-core machine one thread can be faster than two (they wait for each other).
    parser.add_argument("--threads", type=int, default=2)
    for field, default in asdict(TrainConfig()).items():
        kind = _flag if isinstance(default, bool) else type(default)
        parser.add_argument(f"--{field.replace('_', '-')}", type=kind, default=default)
    args = parser.parse_args()
    config = TrainConfig(**{f: getattr(args, f) for f in asdict(TrainConfig())})
    data = DataConfig(root=args.data, limit=args.limit, seed=config.seed)
    record = train(config, data, Path(args.out), threads=args.threads)
    record = {"train": asdict(config), "data": asdict(data), "inputs": input_hashes(data)} | record
    (Path(args.out) / "train_run.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
