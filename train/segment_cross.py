"""A cross-encoder that starts from a working scorer: the cosine of its two segments after one joint pass.

The first round's cross-encoder put a fresh head on MiniLM and learned nothing in the steps this machine allows
(docs/SELECTOR.md). Here (question, sentence) go through the bundled model together, token types all 0 as MiniLM
was trained, and the score is the cosine of the mean token vectors of the question's part and of the sentence's
part: the bi-encoder's own head, so step 0 already ranks (SQuAD DEV P@1 0.496) and training improves on it.

Usage: python -m train.segment_cross [--data ../shared] [--steps 150] [--layers 6] [--sample 400] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.search.rerank import segment_cosines
from train.data import DataConfig, Group, load_groups
from train.evaluate import DEFAULT_CACHE, metrics
from train.evaluate import run as run_scorer
from train.interaction import common_arguments, write_experiment
from train.unanswerable import unanswerable


@dataclass(frozen=True)
class CrossConfig:
    """How the recipe trains and what it evaluates on."""

    data: str = "../shared"
    steps: int = 150
    groups_per_step: int = 8
    negatives: int = 3
    lr: float = 3e-5
    scale_lr: float = 1e-2
    warmup: int = 50
    max_length: int = 128
    sample: int = 400  # seeded DEV questions evaluated (all of them: 0)
    seed: int = 0
    layers: int = 6  # MiniLM's first layers kept (fewer: cheaper to run at question time)
    start: int = 0  # the first training group used (a later phase starts where the earlier one stopped)
    # Shares of groups whose right choice is "none of these" (train/unanswerable.py): the positive dropped, or
    # the question changed so that the positive no longer answers it. Above 0, every group gets a "none" option.
    dropped_share: float = 0.0
    changed_share: float = 0.0


class SegmentCosine:
    """The bundled MiniLM over (question, sentence) pairs, scored by the cosine of the two segments' means."""

    def __init__(self, max_length: int, layers: int = 6, folder: Path | None = None) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from train.models import keep_layers
        from train.scorers import bundled_path

        self.torch = torch
        path = str(folder or bundled_path())  # a folder: a model this recipe trained, to train further
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path, dtype=torch.float32)
        keep_layers(self.model, layers)
        self.scale = torch.nn.Parameter(torch.tensor(20.0))
        self.none = torch.nn.Parameter(torch.tensor(0.5))  # the cosine that "none of these" stands at
        self.max_length = max_length

    def scores(self, questions: list[str], sentences: list[str]):
        """Cosines of each pair's question and sentence segments (a tensor, one per pair), as qa serves them."""
        return segment_cosines(self.model, self.tokenizer, questions, sentences, self.max_length)

    def score(self, question: str, candidates: list[str]) -> np.ndarray:
        """One question's candidates scored (train.evaluate's Scorer)."""
        return self.scores([question] * len(candidates), candidates).numpy()


def fit(scorer: SegmentCosine, config: CrossConfig) -> list[float]:
    """Softmax cross-entropy over each question's positive and hard negatives (and "none of these" when the
    config asks for unanswerable groups); the loss every 25 steps."""
    torch = scorer.torch
    from tqdm import tqdm

    if not config.steps:
        return []
    groups = load_groups(DataConfig(root=config.data))
    opt = torch.optim.AdamW(
        [
            {"params": scorer.model.parameters(), "lr": config.lr},
            {"params": [scorer.scale, scorer.none], "lr": config.scale_lr},
        ],
        weight_decay=0.01,
    )
    warm, total = config.warmup, config.steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / total))
    scorer.model.train()
    losses = []
    per = config.groups_per_step
    with_none = config.dropped_share + config.changed_share > 0
    rnd = random.Random(config.seed)
    for step in tqdm(range(total), desc="train", mininterval=5):
        chosen = [groups[(config.start + step * per + i) % len(groups)] for i in range(per)]
        examples = [_example(g, config, rnd) for g in chosen]
        questions = [q for q, cands, _ in examples for _ in cands]
        sentences = [s for _, cands, _ in examples for s in cands]
        logits = scorer.scale * scorer.scores(questions, sentences).view(per, -1)
        if with_none:
            logits = torch.cat([logits, (scorer.scale * scorer.none).expand(per, 1)], dim=1)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([t for _, _, t in examples]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0:
            losses.append(round(loss.item(), 4))
    scorer.model.eval()
    return losses


def _example(group: Group, config: CrossConfig, rnd: random.Random) -> tuple[str, list[str], int]:
    """(question, candidates, index of the right one): the positive first, or "none" (index len(candidates))
    for a group drawn to be unanswerable."""
    n = config.negatives + 1
    draw = rnd.random()
    question, cands, target = group.question, [group.positives[0], *group.negatives[: n - 1]], 0
    if draw < config.dropped_share and group.negatives:
        cands, target = list(group.negatives[:n]), n
    elif draw < config.dropped_share + config.changed_share:
        changed = unanswerable(group.question, group.positives[0], list(group.negatives), rnd)
        question, target = (changed, n) if changed else (question, 0)
    cands += [cands[-1]] * (n - len(cands))  # a short group repeats its last
    return question, cands, target


def evaluate(scorer: SegmentCosine, config: CrossConfig, dev_cache: Path | None) -> dict[str, float]:
    """P@1 and AUC on a seeded sample of the DEV candidate lists (train/devsets.py)."""
    from train.devsets import load_dev

    dev = load_dev(Path(config.data), dev_cache)
    if config.sample and config.sample < len(dev):
        rng = np.random.default_rng(config.seed)
        dev = [dev[i] for i in sorted(rng.choice(len(dev), config.sample, replace=False))]
    with scorer.torch.inference_mode():
        return metrics(dev, run_scorer(scorer, dev, progress=False))


def run(config: CrossConfig, out: Path, dev_cache: Path | None = DEFAULT_CACHE) -> dict:
    """Train, evaluate, and save the model folder with a manifest."""
    import torch

    torch.manual_seed(config.seed)
    started = time.time()
    scorer = SegmentCosine(config.max_length, config.layers)
    losses = fit(scorer, config)
    figures = evaluate(scorer, config, dev_cache)
    out.mkdir(parents=True, exist_ok=True)
    scorer.model.save_pretrained(out)
    scorer.tokenizer.save_pretrained(out)
    return write_experiment(
        out, "segment-cosine cross-encoder", config, figures, losses, started, scale=float(scorer.scale)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common_arguments(parser, "build/segment-cross")
    parser.add_argument("--steps", type=int, default=CrossConfig.steps)
    parser.add_argument("--sample", type=int, default=CrossConfig.sample, help="DEV questions evaluated; 0 = all")
    parser.add_argument("--layers", type=int, default=CrossConfig.layers, help="MiniLM layers kept (1-6)")
    parser.add_argument("--lr", type=float, default=CrossConfig.lr)
    parser.add_argument("--warmup", type=int, default=CrossConfig.warmup)
    args = parser.parse_args()
    config = CrossConfig(
        data=args.data, steps=args.steps, sample=args.sample, layers=args.layers, lr=args.lr, warmup=args.warmup
    )
    print(json.dumps(run(config, args.out, args.dev_cache)["figures"], indent=1))


if __name__ == "__main__":
    main()
