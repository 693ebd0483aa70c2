"""The cluster test's work, run by tests/test_cluster.py inside a network namespace of its own.

There 127.0.0.1 is the only address, so the 2-node Ray cluster this starts (ray.cluster_utils.Cluster:
a head and a second node, each a raylet of its own) can talk to nothing but loopback.
Usage: python -m tests.cluster_job CORPUS QUESTIONS.jsonl WORK_DIR  (writes WORK_DIR/result.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np


def qa_build(corpus: Path, index: Path, *extra: str) -> dict:
    """`qa build --json` as a user runs it; its report."""
    command = [sys.executable, "-m", "qa", "build", "--rebuild", "--json", "--corpus", str(corpus), "--index"]
    run = subprocess.run([*command, str(index), *extra], capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def compare(corpus: Path, questions: list[str], ray_index: Path, local_index: Path) -> dict:
    """How far the two indexes' vectors are apart, whether their tables agree, and whether they answer alike."""
    from qa.config import Settings
    from qa.index.embedder import SentenceTransformerEmbedder
    from qa.index.store import read_index
    from qa.service import QAService

    a, b = read_index(ray_index), read_index(local_index)
    tables = all(np.array_equal(x, b.arrays.to_dict()[name]) for name, x in a.arrays.to_dict().items())
    model = SentenceTransformerEmbedder()
    answers = []
    for index in (ray_index, local_index):
        service = QAService(Settings(corpus_dir=corpus, index_dir=index), model)
        answers.append([dict(service.ask(q).to_dict(), index_version=None) for q in questions])
    return {
        "passage_diff": float(np.abs(a.passage_vectors - b.passage_vectors).max()),
        "sentence_diff": float(np.abs(a.sentence_vectors - b.sentence_vectors).max()),
        "tables_equal": tables and [d.to_dict() for d in a.documents] == [d.to_dict() for d in b.documents],
        "answers_equal": answers[0] == answers[1],
        "answered": sum(not x["abstained"] for x in answers[0]),
    }


def main(corpus: Path, questions_file: Path, work: Path) -> None:
    from qa.testing import local_ray_cluster

    questions = [json.loads(line)["question"] for line in questions_file.read_text().splitlines() if line.strip()]
    cluster = local_ray_cluster(nodes=2)
    try:
        ray_report = qa_build(corpus, work / "ray-index", "--ray", "--address", cluster.address, "--workers", "2")
        qa_build(corpus, work / "local-index")
        result = compare(corpus, questions, work / "ray-index", work / "local-index")
        result["ray_nodes"] = ray_report["ray_nodes"]
        result["embedded"] = ray_report["embedded"]
    finally:
        cluster.shutdown()
    (work / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
