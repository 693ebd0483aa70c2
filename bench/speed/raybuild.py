"""Embedding on a Ray cluster: texts/s with 1 and 2 Ray actors against bare encoding, in one run.

Usage: python -m bench.speed.raybuild [--articles 3]

It re-runs itself in a network namespace of its own (qa.testing.in_own_network), starts a 2-node Ray cluster
on loopback (one CPU per node), and embeds the texts a build of the first COVID-QA articles embeds (passages
and sentences): bare `model.encode` in this process with 1 and with 2 torch threads, then RayEmbedder with 1
actor and with 2 (one per node). Each actor is warmed up with a first call (model loading is not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common.data import REPO
from bench.common.network import rerun_inside
from bench.speed.corpus import write_corpus

OUT = REPO / "bench" / "out" / "raybuild.json"


def build_texts(articles: int) -> list[str]:
    """The distinct texts a build of the first `articles` COVID-QA articles embeds."""
    from bench.speed.build import embedded_texts
    from qa.config import Settings
    from qa.service import QAService
    from qa.testing import HashEmbedder

    tmp = Path(tempfile.mkdtemp(prefix="qa-raybuild-"))
    write_corpus(tmp / "corpus", articles)
    settings = Settings(corpus_dir=tmp / "corpus", index_dir=tmp / "index")
    QAService(settings, HashEmbedder()).build()  # the texts depend on chunking only, not on the model
    return embedded_texts(settings.index_dir)


def timed(encode, texts: list[str]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    vectors = encode(texts)
    return time.perf_counter() - start, vectors


def measure(articles: int) -> dict:
    """Seconds and texts/s of each way of embedding the same texts."""
    import torch

    from qa.cluster.embed import RayEmbedder
    from qa.index.embedder import SentenceTransformerEmbedder
    from qa.testing import local_ray_cluster

    texts = build_texts(articles)
    model = SentenceTransformerEmbedder().model
    out: dict = {"texts": len(texts), "cpus": os.cpu_count()}
    reference = None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        seconds, reference = timed(lambda t: model.encode(t, batch_size=64, normalize_embeddings=True), texts)
        out[f"bare_{threads}_thread"] = {"seconds": round(seconds, 2), "texts_per_s": round(len(texts) / seconds, 1)}
    cluster = local_ray_cluster(nodes=2)
    try:
        for workers in (1, 2):
            embedder = RayEmbedder(cluster.address, workers)
            embedder.encode(texts[: 8 * workers])  # loads the model in every actor
            seconds, vectors = timed(embedder.encode, texts)
            out[f"ray_{workers}_actors"] = {
                "seconds": round(seconds, 2),
                "texts_per_s": round(len(texts) / seconds, 1),
                "nodes": len(embedder.nodes),
                "max_diff_vs_bare": float(np.abs(vectors - reference).max()),
            }
            embedder.close()
    finally:
        import ray

        ray.shutdown()  # the driver leaves first: a cluster refuses to remove the node its driver is on
        cluster.shutdown()
    base = out["bare_1_thread"]["texts_per_s"]
    for key in ("bare_2_thread", "ray_1_actors", "ray_2_actors"):
        out[key]["vs_bare_1_thread"] = round(out[key]["texts_per_s"] / base, 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=3)
    args = parser.parse_args()
    code = rerun_inside("bench.speed.raybuild")
    if code is not None:
        return code
    result = measure(args.articles)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print("| how | seconds | texts/s | vs bare, 1 thread | nodes |")
    print("|---|---:|---:|---:|---:|")
    for key, label in (
        ("bare_1_thread", "bare encode, 1 torch thread"),
        ("bare_2_thread", "bare encode, 2 torch threads"),
        ("ray_1_actors", "Ray, 1 actor (1 CPU)"),
        ("ray_2_actors", "Ray, 2 actors on 2 nodes (1 CPU each)"),
    ):
        r = result[key]
        ratio = r.get("vs_bare_1_thread", 1.0)
        print(f"| {label} | {r['seconds']} | {r['texts_per_s']} | {ratio} | {r.get('nodes', '')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
