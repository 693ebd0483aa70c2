"""The served-cluster test's work, run by tests/test_cluster.py inside a network namespace of its own.

Builds a 2-shard index, starts a 2-node Ray cluster on loopback and `qa serve --ray` on it with 2 router
replicas, asks over HTTP, kills one shard's replica and asks again until the cluster has recovered.
Usage: python -m tests.serve_job CORPUS QUESTIONS.jsonl WORK_DIR  (writes WORK_DIR/result.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.cluster_job import EXTRA, EXTRA_QUESTIONS

RECOVERY_SECONDS = 120
SUNDIALS = "Sundials\n\nA sundial tells the time by the shadow its gnomon casts on the dial plate.\n"


def local_answers(corpus: Path, index: Path, questions: list[str]) -> list[dict]:
    """The answers of the same index loaded whole in this process."""
    from qa.config import Settings
    from qa.service import QAService

    service = QAService(Settings(corpus_dir=corpus, index_dir=index))
    return [service.ask(q).to_dict() for q in questions]


def kill_replica(ray, deployment: str) -> None:
    """Kill the running replica actor of a deployment (Serve starts another)."""
    from qa.cluster.serve import running_replicas

    replica = running_replicas()[deployment][0]
    ray.kill(ray.get_actor(replica["actor_name"], namespace=replica["namespace"]), no_restart=True)


def ask(base: str, question: str) -> dict:
    response = requests.post(f"{base}/api/ask", json={"question": question}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def main(corpus: Path, questions_file: Path, work: Path) -> None:
    import ray

    from qa.cluster.serve import running_replicas
    from qa.index.store import read_manifest
    from qa.testing import local_ray_cluster, serving, write_files

    questions = [json.loads(line)["question"] for line in questions_file.read_text().splitlines() if line.strip()]
    mixed = write_files(work / "corpus", {p.name: p.read_text(encoding="utf-8") for p in corpus.glob("*.txt")})
    write_files(mixed, EXTRA)
    questions += EXTRA_QUESTIONS
    index = work / "index"
    env = dict(os.environ, QA_CORPUS_DIR=str(mixed), QA_INDEX_DIR=str(index))
    subprocess.run([sys.executable, "-m", "qa", "build", "--shards", "2"], env=env, check=True, capture_output=True)
    expected = local_answers(mixed, index, questions)
    cluster = local_ray_cluster(nodes=2, cpus=2, dashboard=True)  # the state API says where replicas run
    result: dict = {}
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        args = ["--ray", "--address", cluster.address, "--replicas", "2", "--workers", "1"]
        with serving(mixed, index, work / "serve.log", *args, env={"QA_SHARD_TIMEOUT": "1"}) as base:
            [ask(base, q) for q in questions]  # each router replica connects to the shards once, first
            served = [ask(base, q) for q in questions]
            result["answers_equal"] = served == expected
            result["answered"] = sum(not a["abstained"] for a in served)
            result["health"] = requests.get(f"{base}/api/health", timeout=60).json()
            replicas = running_replicas()
            result["nodes"] = {name: len({r["node_id"] for r in rs}) for name, rs in replicas.items()}
            # A new replica takes seconds to start (a process, its imports, the shard's files): far longer than
            # the 1 s the router waits for a shard here, so the next answer and probe find the shard missing.
            started = time.monotonic()
            kill_replica(ray, "shard-001")
            result["after_kill"] = ask(base, questions[0])
            result["health_after_kill"] = requests.get(f"{base}/api/health", timeout=60).json()
            while time.monotonic() - started < RECOVERY_SECONDS:
                again = ask(base, questions[0])
                if not again.get("partial"):
                    break
                time.sleep(1)
            result["recovered"] = again == expected[0]
            result["recovery_seconds"] = round(time.monotonic() - started, 1)
            # A rebuild from updated documents while serving: router and shards read the new index.
            write_files(mixed, {"sundials.txt": SUNDIALS})
            subprocess.run([sys.executable, "-m", "qa", "build"], env=env, check=True, capture_output=True)
            result["after_rebuild"] = ask(base, "What does a sundial's gnomon cast?")
            result["rebuilt_version"] = read_manifest(index).index_version
            # Rebuilt in 3 shards while 2 are deployed: the new shard is missing until qa serve --ray starts again.
            subprocess.run([sys.executable, "-m", "qa", "build", "--shards", "3"], env=env, check=True)
            result["unserved"] = sorted(set(read_manifest(index).shards) - {"shard-000", "shard-001"})
            result["after_reshard"] = ask(base, "What does a sundial's gnomon cast?")
            result["health_after_reshard"] = requests.get(f"{base}/api/health", timeout=60).json()
    finally:
        ray.shutdown()
        cluster.shutdown()
    (work / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
