"""Late interaction over the bundled MiniLM's token vectors: a projection learned from public QA data.

The bundled model stays frozen. Its token vectors for the question and for a candidate sentence are projected
(one linear layer, 384 -> DIM) and normalized; a sentence's score is the mean over the question's tokens of
their best cosine with any of the sentence's tokens (MaxSim, as in ColBERT), plus the pooled cosine qa already
uses. Only the projection and two scalars are trained, on features computed once, so training takes minutes.

Usage: python -m train.interaction [--data ../shared] [--groups 8000] [--epochs 3] [--dim 128] [--out DIR]
       [--dev-cache build/selector-dev.json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from train.data import DataConfig, Group, input_hashes, load_groups
from train.devsets import DevItem, load_dev
from train.evaluate import DEFAULT_CACHE, metrics
from train.evaluate import run as run_scorer
from train.export import write_manifest

QUESTION_TOKENS = 32  # a question's first tokens; longer questions are rare
SENTENCE_TOKENS = 64  # a candidate's first tokens (the answer is rarely later than that)
HIDDEN = 384  # MiniLM's token vector size


@dataclass(frozen=True)
class InteractionConfig:
    """What the recipe reads and how it trains."""

    data: str = "../shared"
    groups: int = 8000  # training questions (with 1 positive and up to `negatives` hard negatives each)
    negatives: int = 7
    validation: int = 500  # the last groups (at most a fifth): held out, reported
    dim: int = 128
    epochs: int = 3
    batch: int = 32
    lr: float = 1e-3
    seed: int = 0


def token_features(texts: list[str], limit: int, batch_size: int = 64) -> dict[str, np.ndarray]:
    """The bundled model's token vectors of each text (first `limit` tokens), float16."""
    from train.scorers import bundled_encoder

    model = bundled_encoder()
    unique = list(dict.fromkeys(texts))
    out = model.encode(unique, output_value="token_embeddings", batch_size=batch_size, show_progress_bar=True)
    return {t: e[:limit].cpu().numpy().astype(np.float16) for t, e in zip(unique, out, strict=True)}


def padded(feats: dict[str, np.ndarray], texts: list[str], limit: int):
    """Texts' token vectors as a zero-padded float32 tensor [n, limit, HIDDEN] and its mask [n, limit]."""
    import torch

    x = np.zeros((len(texts), limit, HIDDEN), np.float32)
    mask = np.zeros((len(texts), limit), bool)
    for i, t in enumerate(texts):
        a = feats[t]
        x[i, : len(a)] = a
        mask[i, : len(a)] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


def build_model(dim: int):
    """The MaxSim scorer: projection, MaxSim scale, and the pooled cosine's weight."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from qa.search.rerank import normalized_mean

    class MaxSim(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(HIDDEN, dim)
            self.scale = nn.Parameter(torch.tensor(10.0))
            self.w_cos = nn.Parameter(torch.tensor(10.0))

        def forward(self, q, q_mask, s, s_mask):
            qn = F.normalize(self.proj(q), dim=-1)
            sn = F.normalize(self.proj(s), dim=-1)
            sim = torch.einsum("bid,bjd->bij", qn, sn).masked_fill(~s_mask[:, None, :], -1e4)
            maxsim = (sim.max(-1).values * q_mask).sum(1) / q_mask.sum(1)
            cos = (normalized_mean(q, q_mask) * normalized_mean(s, s_mask)).sum(-1)
            return self.scale * maxsim + self.w_cos * cos

    return MaxSim()


def _group_scores(model, feats, groups: list[Group], negatives: int):
    """Scores of every group's positive (column 0) and negatives, padded with -inf-like values."""
    import torch

    qs, ss, sizes = [], [], []
    for g in groups:
        cands = [g.positives[0], *g.negatives[:negatives]]
        qs += [g.question] * len(cands)
        ss += cands
        sizes.append(len(cands))
    scores = model(*padded(feats, qs, QUESTION_TOKENS), *padded(feats, ss, SENTENCE_TOKENS))
    table = torch.full((len(groups), negatives + 1), -1e4)
    i = 0
    for row, n in enumerate(sizes):
        table[row, :n] = scores[i : i + n]
        i += n
    return table


def fit(model, feats, train: list[Group], config: InteractionConfig) -> list[float]:
    """Softmax cross-entropy over each question's candidates; returns the loss every 100 steps."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    per_epoch = max(1, len(train) // config.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.epochs * per_epoch, pct_start=0.1)
    rng = np.random.default_rng(config.seed)
    losses = []
    model.train()
    for step in tqdm(range(config.epochs * per_epoch), desc="train", mininterval=5):
        if step % per_epoch == 0:
            order = rng.permutation(len(train))
        b = step % per_epoch
        batch = [train[i] for i in order[b * config.batch : (b + 1) * config.batch]]
        table = _group_scores(model, feats, batch, config.negatives)
        loss = F.cross_entropy(table, torch.zeros(len(batch), dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            losses.append(round(float(loss), 4))
    model.eval()
    return losses


def accuracy(model, feats, groups: list[Group], negatives: int) -> float:
    """Share of groups whose positive scores highest."""
    import torch

    with torch.no_grad():
        hits = [
            (_group_scores(model, feats, groups[i : i + 64], negatives).argmax(1) == 0)
            for i in range(0, len(groups), 64)
        ]
    return float(torch.cat(hits).float().mean())


def dev_metrics(model, feats, items: list[DevItem]) -> dict[str, float]:
    """P@1 and AUC on the DEV candidate lists (train/devsets.py), as train.evaluate reports them."""
    import torch

    class Scorer:
        def score(self, question: str, candidates: list[str]) -> np.ndarray:
            q = padded(feats, [question] * len(candidates), QUESTION_TOKENS)
            return model(*q, *padded(feats, candidates, SENTENCE_TOKENS)).numpy()

    with torch.no_grad():
        return metrics(items, run_scorer(Scorer(), items, progress=False))


def run(config: InteractionConfig, out: Path, dev_cache: Path | None = DEFAULT_CACHE) -> dict:
    """The whole recipe: data, features, training, DEV figures; writes the weights and a manifest to out."""
    import torch

    torch.manual_seed(config.seed)
    started = time.time()
    groups = load_groups(DataConfig(root=config.data))[: config.groups]
    held_out = min(config.validation, len(groups) // 5)
    train, held = groups[: len(groups) - held_out], groups[len(groups) - held_out :]
    dev = load_dev(Path(config.data), dev_cache)
    texts = [t for g in groups for t in (g.question, g.positives[0], *g.negatives[: config.negatives])]
    texts += [t for d in dev for t in (d.question, *d.candidates)]
    feats = token_features(texts, SENTENCE_TOKENS)
    model = build_model(config.dim)
    losses = fit(model, feats, train, config)
    figures = {"validation_accuracy": accuracy(model, feats, held, config.negatives), **dev_metrics(model, feats, dev)}
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    np.savez(out / "interaction.npz", **state)
    return write_experiment(
        out,
        "maxsim",
        config,
        figures,
        losses,
        started,
        question_tokens=QUESTION_TOKENS,
        sentence_tokens=SENTENCE_TOKENS,
    )


def write_experiment(out: Path, kind: str, config, figures: dict, losses: list, started: float, **extra) -> dict:
    """An experiment's manifest.json in out (train.export's, with every file's SHA-256): what it is, its
    settings, data hashes, figures and losses."""
    manifest = {
        "kind": kind,
        **extra,
        "config": asdict(config),
        "data": input_hashes(DataConfig(root=config.data)),
        "figures": figures,
        "losses": losses,
        "seconds": round(time.time() - started),
    }
    write_manifest(out, manifest)
    return manifest


def common_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    """The data root, output folder and DEV cache every experiment takes."""
    parser.add_argument("--data", default="../shared")
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument(
        "--dev-cache", type=Path, default=DEFAULT_CACHE, help="the DEV candidate lists (made if absent)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common_arguments(parser, "build/interaction")
    parser.add_argument("--groups", type=int, default=InteractionConfig.groups)
    parser.add_argument("--epochs", type=int, default=InteractionConfig.epochs)
    parser.add_argument("--dim", type=int, default=InteractionConfig.dim)
    args = parser.parse_args()
    config = InteractionConfig(data=args.data, groups=args.groups, epochs=args.epochs, dim=args.dim)
    manifest = run(config, args.out, args.dev_cache)
    print(json.dumps(manifest["figures"], indent=1))


if __name__ == "__main__":
    main()
