"""HNSW recall@10 and search time against efSearch on one generated corpus (efSearch needs no rebuild).

Usage: python -m bench.speed.recall [--n 1000000] [--m 32] [--ef-construction 80] [--ef-search 256,384,512,768]

The vectors and queries are those of bench.speed.scale at the same size (same generator and seed), so the
numbers compare with its table. The built index is kept in bench/out/recall/ and reused by later runs with the
same n, M and efConstruction; delete the folder to start again. Search uses one thread, as a served worker
does on 2 cores; each question is encoded and then searched at every efSearch, in turn.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench.common.data import OUT_DIR
from bench.common.stats import percentile, ratio
from bench.speed.corpus import questions, write_corpus
from bench.speed.scale import exact_top, write_vectors
from qa.config import Settings
from qa.http.threads import cores, limit_threads
from qa.index.dense import DenseIndex
from qa.index.store import read_index
from qa.search.params import RetrievalParams
from qa.service import QAService


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the HNSW index of --n generated vectors and print recall and search time per efSearch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=80)
    parser.add_argument("--ef-search", default="256,384,512,768")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    ef_values = [int(x) for x in args.ef_search.split(",")]

    # The same centres as `make bench-speed`: the vectors of the 10-article benchmark index.
    work = args.out / "speed"
    settings = Settings(corpus_dir=work / "corpus", index_dir=work / "index")
    doc_ids = write_corpus(settings.corpus_dir, 10)
    service = QAService(settings)
    limit_threads(cores())
    service.build()
    data = read_index(settings.index_dir)
    centres = np.concatenate([data.passage_vectors, data.sentence_vectors]).astype(np.float32)
    qs = questions(doc_ids, 220)[: args.questions]

    folder = args.out / "recall"
    folder.mkdir(parents=True, exist_ok=True)
    vec_path = folder / f"vectors-{args.n}.npy"
    if vec_path.exists():
        vectors = np.load(vec_path, mmap_mode="r")
    else:
        vectors = write_vectors(vec_path, args.n, centres, seed=args.n)
    dense, build_s = _hnsw(folder, vectors, args)

    limit_threads(1)
    enc, rows = _measure(service.embedder, dense, vectors, qs, ef_values)
    result = {
        "n": args.n,
        "m": args.m,
        "ef_construction": args.ef_construction,
        "build_s": build_s,
        "questions": len(qs),
        "encode_p50_ms": round(enc, 2),
        "rows": rows,
    }
    out = folder / f"recall-{args.n}-m{args.m}-efc{args.ef_construction}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"n {args.n}, M {args.m}, efConstruction {args.ef_construction}, build {build_s} s, encode p50 {enc:.2f} ms")
    print("| efSearch | recall@10 | search p50 ms (k=100) | p95 ms | / encode p50 |")
    print("|---|---|---|---|---|")
    for r in rows:
        cells = (r["ef_search"], r["recall_at_10"], r["search_p50_ms"], r["search_p95_ms"], r["vs_encode"])
        print("| " + " | ".join(map(str, cells)) + " |")
    return 0


def _hnsw(folder: Path, vectors: np.ndarray, args: argparse.Namespace) -> tuple[DenseIndex, float | None]:
    """The HNSW index of the vectors, read from folder or built there (with its build seconds)."""
    index_path = folder / f"hnsw-{args.n}-m{args.m}-efc{args.ef_construction}.faiss"
    build_s = None
    if index_path.exists():
        dense = DenseIndex.load(index_path)
    else:
        start = time.perf_counter()
        dense = DenseIndex.build(vectors, m=args.m, ef_construction=args.ef_construction)
        build_s = round(time.perf_counter() - start, 1)
        dense.save(index_path)
        print(f"[recall] built {index_path.name} in {build_s} s", file=sys.stderr, flush=True)
    assert dense.kind == "hnsw", "n must be above EXACT_LIMIT"
    return dense, build_s


def _measure(embedder, dense: DenseIndex, vectors: np.ndarray, qs: list[str], ef_values: list[int]) -> tuple:
    """Encode p50 in ms, and per efSearch the recall@10 against exact search and the search times."""
    qvs = embedder.encode(qs)
    truth = exact_top(vectors, qvs, 10)
    encode_t: list[float] = []
    depth = RetrievalParams().depth  # the depth the retriever asks for
    search_t: dict[int, list[float]] = {ef: [] for ef in ef_values}
    found: dict[int, list[int]] = {ef: [] for ef in ef_values}
    for i, q in enumerate(qs):
        t0 = time.perf_counter()
        qv = embedder.encode([q])[0]
        encode_t.append(time.perf_counter() - t0)
        for ef in ef_values:
            dense.index.hnsw.efSearch = ef
            t0 = time.perf_counter()
            dense.search(qv, depth)
            search_t[ef].append(time.perf_counter() - t0)
            ids = dense.search(qv, 10)[1]
            found[ef].append(len(set(ids.tolist()) & set(truth[i].tolist())))
    enc = percentile(encode_t, 50) * 1000
    rows = []
    for ef in ef_values:
        p50 = percentile(search_t[ef], 50) * 1000
        rows.append(
            {
                "ef_search": ef,
                "recall_at_10": round(sum(found[ef]) / (10 * len(qs)), 4),
                "search_p50_ms": round(p50, 3),
                "search_p95_ms": round(percentile(search_t[ef], 95) * 1000, 3),
                "vs_encode": ratio(p50, enc),
            }
        )
    return enc, rows


if __name__ == "__main__":
    sys.exit(main())
