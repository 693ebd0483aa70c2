"""Serving on a Ray cluster: questions a second through the router with 1 and 2 replicas, in one run.

Usage: python -m bench.speed.rayserve [--articles 3] [--questions 200] [--clients 8]

It re-runs itself in a network namespace of its own (qa.testing.in_own_network), builds a 2-shard index of the
first COVID-QA articles with the bundled model, and starts a 2-node Ray cluster on loopback (2 CPUs per node).
The baseline, in the same run: QAService.ask in this process (one host, no Ray) from the same number of client
threads. Then the Serve application (qa.cluster.serve.deploy: 2 shard deployments and the router) with 1 router
replica and with 2 (one per node); `clients` threads post the same questions to the router over HTTP. Each
setup answers every question once before it is timed (the model loads, Serve's handles connect).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common.data import REPO
from bench.common.network import rerun_inside
from bench.speed.corpus import questions, write_corpus

OUT = REPO / "bench" / "out" / "rayserve.json"


def rate(ask, texts: list[str], clients: int) -> dict:
    """Questions a second when `clients` threads ask all of texts (after one warm-up round)."""
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(ask, texts))
        start = time.perf_counter()
        answers = list(pool.map(ask, texts))
        seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "per_s": round(len(texts) / seconds, 1), "answers": answers}


def post(url: str):
    import requests

    session = requests.Session()

    def ask(question: str) -> dict:
        response = session.post(f"{url}/ask", json={"question": question}, timeout=120)
        response.raise_for_status()
        return response.json()

    return ask


def measure(articles: int, count: int, clients: int) -> dict:
    import ray
    from ray import serve

    from qa.cluster.options import ServeOptions
    from qa.cluster.serve import deploy, running_replicas
    from qa.config import Settings
    from qa.service import QAService
    from qa.testing import local_ray_cluster

    tmp = Path(tempfile.mkdtemp(prefix="qa-rayserve-"))
    ids = write_corpus(tmp / "corpus", articles)
    settings = Settings(corpus_dir=tmp / "corpus", index_dir=tmp / "index")
    local = QAService(settings)
    local.build(shards=2)
    texts = questions(ids, count)
    out: dict = {"questions": len(texts), "clients": clients, "cpus": os.cpu_count()}
    baseline = rate(lambda q: local.ask(q).to_dict(), texts, clients)
    expected = baseline.pop("answers")
    out["one_host"] = baseline
    cluster = local_ray_cluster(nodes=2, cpus=2, dashboard=True)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        for replicas in (1, 2):
            url = deploy(settings, ServeOptions(cluster.address, replicas))
            result = rate(post(url), texts, clients)
            result["same_answers"] = result.pop("answers") == expected
            result["router_nodes"] = len({r["node_id"] for r in running_replicas()["router"]})
            out[f"ray_{replicas}_replicas"] = result
        serve.shutdown()
    finally:
        ray.shutdown()
        cluster.shutdown()
    base = out["one_host"]["per_s"]
    for key in ("ray_1_replicas", "ray_2_replicas"):
        out[key]["vs_one_host"] = round(out[key]["per_s"] / base, 2)
    out["scaling_2_vs_1"] = round(out["ray_2_replicas"]["per_s"] / out["ray_1_replicas"]["per_s"], 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=3)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    code = rerun_inside("bench.speed.rayserve")
    if code is not None:
        return code
    result = measure(args.articles, args.questions, args.clients)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"{result['questions']} questions, {result['clients']} client threads")
    print("| how | seconds | questions/s | vs one host | router nodes | same answers |")
    print("|---|---:|---:|---:|---:|---|")
    for key, label in (
        ("one_host", "QAService.ask in one process (no Ray)"),
        ("ray_1_replicas", "Ray Serve, 1 router replica"),
        ("ray_2_replicas", "Ray Serve, 2 router replicas on 2 nodes"),
    ):
        r = result[key]
        print(
            f"| {label} | {r['seconds']} | {r['per_s']} | {r.get('vs_one_host', 1.0)} | "
            f"{r.get('router_nodes', '')} | {r.get('same_answers', '')} |"
        )
    print(f"2 replicas / 1 replica: {result['scaling_2_vs_1']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
