"""What the build's second pass buys: sentence vectors encoded alone vs pooled from their passage's forward pass.

Usage: python -m bench.quality.pooled [--only covidqa,squad]

A build embeds every passage and then each of its sentences again. The alternative costs one forward pass per
passage: a sentence's vector is the mean of the passage's token embeddings whose characters fall in the
sentence, normalized. This opens each dev index as the product builds it, answers the dev questions, then
replaces the sentence vectors in memory with pooled ones (passages keep theirs) and answers them again, so
the two tables differ only in the sentence vectors. Dev splits only: COVID-QA odd ids, SQuAD articles 1-4.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common.data import BENCH_DIR, Question, load_covidqa, load_squad
from bench.common.harness import Indexed, model_embedder, open_indexed
from bench.common.report import table
from bench.quality import decline, retrieval
from qa.index.embedder import SentenceTransformerEmbedder

BATCH = 32


def pooled_vectors(model, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[np.ndarray]:
    """For each text, one vector per character span: the mean of its overlapping token embeddings, normalized
    (NaN rows for spans past the model's input limit)."""
    import torch

    out = [np.full((len(s), model.get_embedding_dimension()), np.nan, dtype=np.float32) for s in spans]
    order = np.argsort([-len(t) for t in texts], kind="stable")
    for start in range(0, len(texts), BATCH):
        rows = order[start : start + BATCH].tolist()
        batch = [texts[i] for i in rows]
        features = model.preprocess(batch)
        width = features["input_ids"].shape[1]
        offsets = model.tokenizer(
            batch, padding="max_length", truncation=True, max_length=width, return_offsets_mapping=True
        )["offset_mapping"]
        with torch.inference_mode():
            tokens = model(features)["token_embeddings"].float().numpy()
        kept = features["attention_mask"].numpy().astype(bool)
        for row, i in enumerate(rows):
            first, last = np.asarray(offsets[row]).T
            real = kept[row] & (last > first)  # special and padding tokens cover no characters
            for j, (a, b) in enumerate(spans[i]):
                inside = real & (first < b) & (last > a)
                if inside.any():
                    v = tokens[row][inside].mean(axis=0)
                    out[i][j] = v / np.linalg.norm(v)
    return out


def repool(indexed: Indexed, model) -> str:
    """Replace the loaded index's sentence vectors with pooled ones; a line saying what it did."""
    r = indexed.service.load().retriever
    a = r.data.arrays
    texts, spans = [], []
    for p in range(len(r)):
        start = int(a.p_start[p])
        texts.append(r.text(p))
        spans.append([(int(a.s_start[j]) - start, int(a.s_end[j]) - start) for j in r.sentences(p)])
    began = time.perf_counter()
    pooled = pooled_vectors(model, texts, spans)
    seconds = time.perf_counter() - began
    vectors = np.array(r.data.sentence_vectors, dtype=np.float32)
    done = np.zeros(len(vectors), dtype=bool)  # a sentence two passages share takes the first one's context
    for p, rows in enumerate(pooled):
        for j, v in zip(r.sentences(p), rows, strict=True):
            if not done[j] and not np.isnan(v[0]):
                vectors[j], done[j] = v, True
    r.data.sentence_vectors = vectors
    return f"pooled {int(done.sum())} of {len(vectors)} sentence vectors ({len(texts)} passages, {seconds:.0f} s)"


def covidqa(model) -> None:
    bench = load_covidqa(BENCH_DIR)
    questions = [q for q in bench.questions if q.group % 2 == 1]
    indexed = open_indexed(bench, model_embedder())
    for label in ("encoded alone", "pooled"):
        if label == "pooled":
            print(repool(indexed, model), flush=True)
        rows = retrieval.covidqa(indexed, questions, ("hybrid",))
        print(f"COVID-QA dev, sentence vectors {label}\n\n{table(rows)}", flush=True)


def squad(model) -> None:
    bench = load_squad(BENCH_DIR)
    questions = [q for q in bench.questions if q.group in range(1, 5)]
    off = [Question(q.id, q.text) for q in load_covidqa(BENCH_DIR).questions if q.group % 2 == 1]
    indexed = open_indexed(bench, model_embedder())
    for label in ("encoded alone", "pooled"):
        if label == "pooled":
            print(repool(indexed, model), flush=True)
        rows_a, rows_b = decline.squad(indexed, questions, off, ("hybrid",))
        print(f"SQuAD dev, sentence vectors {label}\n\n{table(rows_a)}\n\n{table(rows_b)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="covidqa,squad")
    args = parser.parse_args()
    model = SentenceTransformerEmbedder().model
    for name in args.only.split(","):
        {"covidqa": covidqa, "squad": squad}[name](model)


if __name__ == "__main__":
    main()
