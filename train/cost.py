"""Cost of scoring N candidates with a cross-encoder, as a ratio to one bare question encode (same process)."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from train.devsets import load_dev
from train.evaluate import DEFAULT_CACHE
from train.models import build_cross
from train.scorers import bundled_encoder, score_pairs


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_encode(encoder):
    """One question through the bundled model the way qa's embedder does it (a direct forward pass)."""

    def run(question: str) -> None:
        with torch.inference_mode():
            encoder(encoder.preprocess([question]))

    return run


def cross_scoring(model, tokenizer, max_length: int):
    """All candidates of one question as one padded batch through the cross-encoder."""

    def run(question: str, candidates: list[str]) -> None:
        score_pairs(model, tokenizer, question, candidates, max_length, batch=max(1, len(candidates)))

    return run


def measure(
    layers: list[int], sizes: list[int], questions: int, max_length: int, data: Path, threads: int = 2
) -> list[dict]:
    """p50 seconds of bare encodes and of N-candidate scoring, interleaved question by question."""
    torch.set_num_threads(threads)
    items = load_dev(data, DEFAULT_CACHE)
    squad = [i for i in items if i.split == "squad"]
    covid = [i for i in items if i.split == "covid"]
    step_s, step_c = max(1, len(squad) // questions), max(1, len(covid) // questions)
    picked = [x for pair in zip(squad[::step_s], covid[::step_c], strict=False) for x in pair]
    picked = picked[:questions]
    pool = [c for i in picked for c in i.candidates]
    encoder = bundled_encoder()
    encode = bare_encode(encoder)
    models = {}
    for n in layers:
        model, tokenizer = build_cross(n, seed=0)
        model.eval()
        models[(n, False)] = cross_scoring(model, tokenizer, max_length)
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        models[(n, True)] = cross_scoring(quantized, tokenizer, max_length)
    for item in picked[:5]:  # warm-up: first calls allocate
        encode(item.question)
        for run in models.values():
            run(item.question, item.candidates[:10])
    bare, timings = [], {(key, n): [] for key in models for n in sizes}
    for q, item in enumerate(picked):
        bare.append(_timed(lambda item=item: encode(item.question)))
        for key, run in models.items():
            for n in sizes:
                cands = (item.candidates + pool[q * 7 :])[:n]  # a question with fewer candidates borrows some
                timings[(key, n)].append(_timed(lambda run=run, cands=cands, item=item: run(item.question, cands)))
    base = statistics.median(bare)
    rows = [{"what": "bare question encode (bundled MiniLM)", "p50_ms": round(base * 1000, 2), "ratio": 1.0}]
    for ((n_layers, quant), n), values in timings.items():
        p50 = statistics.median(values)
        rows.append(
            {
                "what": f"cross {n_layers}L{' int8' if quant else ''} N={n}",
                "p50_ms": round(p50 * 1000, 2),
                "ratio": round(p50 / base, 2),
            }
        )
    return rows


def main() -> None:
    """Print the cost table as JSON lines."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data", default="../shared")
    parser.add_argument("--layers", default="6,3,2,1")
    parser.add_argument("--sizes", default="10,20,30")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = measure(
        [int(x) for x in args.layers.split(",")],
        [int(x) for x in args.sizes.split(",")],
        args.questions,
        args.max_length,
        Path(args.data),
        args.threads,
    )
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
