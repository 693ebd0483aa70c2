"""Dense-only SciFact nDCG@10 on the train qrels (the dev split) of sentence-transformers folders, compared.

Usage: python -m bench.quality.dense_scifact bundled PATH [PATH ...]

Each abstract is embedded whole (title, then text) as BEIR and MTEB do, without qa's passages, BM25 or fusion:
a quick check of whether a fine-tuned encoder (train/encoders.py) holds up on text it was not trained on
before anything is built with it. Loaded in float32 (an fp16 export is slow on CPU).
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from bench.common.data import BENCH_DIR
from qa.index.embedder import bundled_model_path


def ndcg_at_10(model, texts: list[str], ids: list[str], queries: list[str], qrels: list[set[str]]) -> float:
    docs = model.encode(texts, batch_size=32, normalize_embeddings=True)
    scores = model.encode(queries, normalize_embeddings=True) @ docs.T
    total = 0.0
    for row, relevant in zip(scores, qrels, strict=True):
        top = np.argsort(-row)[:10]
        dcg = sum(1 / math.log2(rank + 2) for rank, j in enumerate(top) if ids[j] in relevant)
        total += dcg / sum(1 / math.log2(rank + 2) for rank in range(min(10, len(relevant))))
    return total / len(qrels)


def main(names: list[str]) -> None:
    from sentence_transformers import SentenceTransformer

    root = BENCH_DIR / "scifact"
    docs = [json.loads(line) for line in (root / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    texts, ids = [f"{d['title']}. {d['text']}".strip() for d in docs], [d["_id"] for d in docs]
    lines = (root / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    questions = {q["_id"]: q["text"] for q in map(json.loads, lines)}
    qrels: dict[str, set[str]] = {}
    for line in (root / "qrels" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query, doc, _ = line.split()
        qrels.setdefault(query, set()).add(doc)
    kept = [q for q in qrels if q in questions]
    for name in names:
        model = SentenceTransformer(bundled_model_path() if name == "bundled" else name, device="cpu").float()
        score = ndcg_at_10(model, texts, ids, [questions[q] for q in kept], [qrels[q] for q in kept])
        print(f"{name}: SciFact train qrels ({len(kept)} queries), dense nDCG@10 {score:.4f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["bundled"])
