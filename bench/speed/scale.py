"""Scale: the product's dense and BM25 indexes over generated corpora of 10^3 .. 10^6 passages.

Vectors are generated, because the model's cost is not the point here: each mixes two real passage or
sentence vectors of the benchmark index and adds noise, so neighbourhoods look like real ones without a
million near-copies of a few thousand points; queries are real questions encoded by the model. Passage
texts are three sentences of the public benchmark texts, tokenised by qa.text.terms.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common.data import BENCH_DIR, REPO
from bench.common.stats import peak_rss_mb, percentile, ratio, rss_mb
from bench.speed.corpus import ARTICLES
from qa.http.threads import cores, limit_threads
from qa.index.dense import EXACT_LIMIT, DenseIndex
from qa.index.lexical import BM25Index
from qa.index.store import read_index
from qa.search.params import RetrievalParams
from qa.search.shards import top_indices
from qa.text.terms import terms

SIZES = (1_000, 10_000, 100_000, 1_000_000)
GEN_BATCH = 65_536
NOISE, MIX = 1.0, 0.5  # vector = normalise(centre_a + MIX * centre_b + noise of this length)
POOL_SENTENCES = 60_000
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_pool(limit: int = POOL_SENTENCES) -> list[list[str]]:
    """Term lists of sentences from the SciFact abstracts and COVID-QA articles."""
    pool: list[list[str]] = []
    sources = [(BENCH_DIR / "scifact" / "corpus.jsonl", "text"), (ARTICLES, "context")]
    for path, field in sources:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                for sentence in _SENTENCE_END.split(json.loads(line)[field]):
                    tokens = terms(sentence)
                    if len(tokens) >= 3:
                        pool.append(tokens)
                if len(pool) >= limit:
                    return pool
    return pool


def fill_vectors(out: np.ndarray, centres: np.ndarray, seed: int) -> np.ndarray:
    """Fill `out` (memory-mapped, rows x dim) in batches with unit vectors near mixtures of two centres."""
    rng = np.random.default_rng(seed)
    n, dim = out.shape
    for start in range(0, n, GEN_BATCH):
        m = min(GEN_BATCH, n - start)
        noise = rng.standard_normal((m, dim), dtype=np.float32) * (NOISE / np.sqrt(dim))
        x = centres[rng.integers(0, len(centres), m)] + MIX * centres[rng.integers(0, len(centres), m)] + noise
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def write_vectors(path: Path, n: int, centres: np.ndarray, seed: int) -> np.ndarray:
    """n generated vectors (see fill_vectors) written to a memory-mapped .npy file."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, centres.shape[1]))
    fill_vectors(out, centres, seed).flush()
    return np.load(path, mmap_mode="r")


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids by inner product, scanning the vectors in slices."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), GEN_BATCH):
        s = queries @ np.asarray(vectors[start : start + GEN_BATCH]).T
        cand_s = np.concatenate([best_s, s], axis=1)
        cand_i = np.concatenate([best_i, np.arange(start, start + s.shape[1])[None].repeat(len(queries), 0)], axis=1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    return best_i


def serving_rss(folder: Path) -> dict:
    """Resident MiB of a fresh process before and after loading the saved indexes (vectors memory-mapped)."""
    code = (
        "import sys, numpy as np; from bench.common.stats import rss_mb; from qa.index.dense import DenseIndex;"
        "from qa.index.lexical import BM25Index; before = rss_mb(); f = sys.argv[1];"
        "d = DenseIndex.load(f + '/dense.faiss'); b = BM25Index.load(f + '/bm25');"
        "v = np.load(f + '/vectors.npy', mmap_mode='r'); print(before, rss_mb())"
    )
    run = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, cwd=REPO)
    before, after = map(float, run.stdout.split())
    return {"process_mb": round(after, 1), "indexes_mb": round(after - before, 1)}


def measure(max_size: int, questions: list[str], embedder, index_dir: Path) -> dict:
    """Build and query times, recall and memory at each size up to max_size."""
    data = read_index(index_dir)
    centres = np.concatenate([data.passage_vectors, data.sentence_vectors]).astype(np.float32)
    pool = sentence_pool()
    qs = questions[:200]
    query_terms = [terms(q) for q in qs]
    rows = []
    for n in [s for s in SIZES if s <= max_size]:
        rows.append(_one_size(n, centres, pool, qs, query_terms, embedder))
        print(f"[bench-speed] scale {n}: {rows[-1]}", file=sys.stderr, flush=True)
    return {"exact_limit": EXACT_LIMIT, "noise": NOISE, "mix": MIX, "centres": len(centres), "rows": rows}


def _one_size(n: int, centres, pool, qs, query_terms, embedder) -> dict:
    with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
        folder = Path(tmp)
        rss_start = rss_mb()
        vectors = write_vectors(folder / "vectors.npy", n, centres, seed=n)
        picks = np.random.default_rng(n).integers(0, len(pool), (n, 3))
        token_lists = [pool[a] + pool[b] + pool[c] for a, b, c in picks.tolist()]
        limit_threads(cores())  # a build uses every core, as `qa build` does
        start = time.perf_counter()
        dense = DenseIndex.build(vectors)
        dense_build = time.perf_counter() - start
        start = time.perf_counter()
        bm25 = BM25Index.build(token_lists)
        bm25_build = time.perf_counter() - start
        build_rss = rss_mb() - rss_start
        del token_lists
        dense.save(folder / "dense.faiss")
        bm25.save(folder / "bm25")
        limit_threads(1)  # answering uses one thread per worker on this machine
        depth = RetrievalParams().depth  # the depth the retriever asks for
        encode_t, dense_t, bm25_t, found = [], [], [], []
        for q, qt in zip(qs, query_terms, strict=True):
            t0 = time.perf_counter()
            qv = embedder.encode([q])[0]
            t1 = time.perf_counter()
            dense.search(qv, depth)
            t2 = time.perf_counter()
            top_indices(bm25.scores(qt), depth)
            t3 = time.perf_counter()
            encode_t.append(t1 - t0), dense_t.append(t2 - t1), bm25_t.append(t3 - t2)
            found.append(dense.search(qv, 10)[1])
        qvs = embedder.encode(qs)
        truth = exact_top(vectors, qvs, 10)
        hits = [len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True)]
        recall = sum(hits) / (10 * len(hits))
        enc = percentile(encode_t, 50) * 1000
        row = {
            "passages": n,
            "dense_index": dense.kind,
            "dense_build_s": round(dense_build, 2),
            "bm25_build_s": round(bm25_build, 2),
            "encode_p50_ms": round(enc, 2),
            "dense_search_p50_ms": round(percentile(dense_t, 50) * 1000, 3),
            "bm25_query_p50_ms": round(percentile(bm25_t, 50) * 1000, 3),
            "dense_vs_encode": ratio(percentile(dense_t, 50) * 1000, enc),
            "bm25_vs_encode": ratio(percentile(bm25_t, 50) * 1000, enc),
            "recall_at_10": round(recall, 4),
            "vectors_mb": round(vectors.nbytes / 2**20, 1),
            "build_rss_growth_mb": round(build_rss, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "serving": serving_rss(folder),
        }
        del dense, bm25, vectors
        return row
