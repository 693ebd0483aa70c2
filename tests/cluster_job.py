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


def by_span(index: Path) -> dict[tuple[str, int, int], int]:
    """Passage numbers by (doc_id, start, end): the same passages in a sharded and an ordinary index."""
    from qa.search.retriever import Retriever

    r = Retriever.open(index)
    return {(r.doc(p).doc_id, *r.span(p)): p for p in range(len(r))}


def bm25_scores(r, query: list[str]) -> np.ndarray:
    """Every passage's BM25 score, shard after shard when the index has shards."""
    if not r.shards:
        return r.bm25.scores(query)
    return np.concatenate([shard.bm25.scores(query) for _, _, shard in r.shards])


def compare(corpus: Path, questions: list[str], built: Path, local: Path) -> dict:
    """How far two indexes' vectors are apart (passages matched by span), whether their BM25 scores and
    tables agree, and whether they answer alike."""
    from qa.config import Settings
    from qa.index.embedder import SentenceTransformerEmbedder
    from qa.index.store import read_index
    from qa.search.retriever import Retriever
    from qa.service import QAService

    a, b = read_index(built), read_index(local)
    spans_a, spans_b = by_span(built), by_span(local)
    order = [spans_a[key] for key in spans_b]
    queries = [["facial", "spasm"], ["botulinum", "toxin", "lens"], ["honey", "bees", "tea"]]
    ra, rb = Retriever.open(built), Retriever.open(local)
    model = SentenceTransformerEmbedder()
    answers = []
    for index in (built, local):
        service = QAService(Settings(corpus_dir=corpus, index_dir=index), model)
        answers.append([dict(service.ask(q).to_dict(), index_version=None) for q in questions])
    return {
        "shards": len(a.manifest.shards),
        "passage_diff": float(np.abs(a.passage_vectors[order] - b.passage_vectors[: len(order)]).max()),
        "same_passages": spans_a.keys() == spans_b.keys(),
        "bm25_equal": all(np.array_equal(bm25_scores(ra, q)[order], bm25_scores(rb, q)) for q in queries),
        "sentences_equal": len(a.sentence_vectors) == len(b.sentence_vectors),
        "answers_equal": answers[0] == answers[1],
        "answered": sum(not x["abstained"] for x in answers[0]),
    }


def main(corpus: Path, questions_file: Path, work: Path) -> None:
    from qa.testing import local_ray_cluster, write_files

    questions = [json.loads(line)["question"] for line in questions_file.read_text().splitlines() if line.strip()]
    # The default corpus and a few small documents, so that two shards both hold some.
    mixed = write_files(work / "corpus", {p.name: p.read_text(encoding="utf-8") for p in corpus.glob("*.txt")})
    write_files(mixed, EXTRA)
    questions += EXTRA_QUESTIONS
    cluster = local_ray_cluster(nodes=2)
    try:
        ray = ["--ray", "--address", cluster.address, "--workers", "2"]
        one = qa_build(mixed, work / "ray-index", *ray)
        sharded = qa_build(mixed, work / "ray-sharded", *ray, "--shards", "2")
        qa_build(mixed, work / "local-index")
        result = {
            "one": compare(mixed, questions, work / "ray-index", work / "local-index"),
            "sharded": compare(mixed, questions, work / "ray-sharded", work / "local-index"),
            "ray_nodes": [one["ray_nodes"], sharded["ray_nodes"]],
            "chunked": [one["ray_chunked"], sharded["ray_chunked"], one["documents"]],
            "embedded": one["embedded"],
        }
    finally:
        cluster.shutdown()
    (work / "result.json").write_text(json.dumps(result))


EXTRA = {
    "bees.txt": "Honey bees make honey from nectar. A colony has one queen and thousands of workers.",
    "tea.txt": "Green tea is brewed for two to three minutes in water below boiling.",
    "lighthouse.txt": "The Fresnel lens was invented in 1822 by Augustin-Jean Fresnel for lighthouses.",
}
EXTRA_QUESTIONS = ["How long is green tea brewed?", "When was the Fresnel lens invented?", "What do honey bees make?"]


if __name__ == "__main__":
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
