"""Workers share one index: memory of `qa serve` workers over a generated index, mapped (QA_INDEX_MMAP on) or read.

Usage: python -m bench.speed.sharing [--sizes 100000,1000000] [--workers 2] [--questions 200]

The index is a whole qa index written by qa's own IndexWriter (documents, tables, passage and sentence vectors,
FAISS, BM25, manifest) so that `qa serve` loads it as it loads any index. Texts are sentences of the public
benchmark texts, ten passages of three sentences to a document; vectors are generated as in bench.speed.scale.
Each variant starts `qa serve --workers N`, asks every worker the same questions over HTTP (so each has
touched the pages answers read), and reads each worker's /proc/PID/smaps_rollup: RSS, PSS (shared pages
divided among the processes that map them) and private anonymous memory. Answers must be equal in both.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.common.data import REPO
from bench.speed.corpus import ARTICLES, questions
from bench.speed.scale import fill_vectors
from bench.speed.server import Client, serve
from qa.config import Settings
from qa.index.dense import DenseIndex
from qa.index.embedder import SentenceTransformerEmbedder
from qa.index.format import (
    BM25_DIR,
    DENSE_FILE,
    FORMAT_VERSION,
    PASSAGE_VECTORS,
    SENTENCE_VECTORS,
    IndexArrays,
    IndexedDocument,
    Manifest,
)
from qa.index.key import index_key, model_identity
from qa.index.lexical import BM25Builder
from qa.index.store import IndexData, IndexWriter, read_index
from qa.text.terms import terms

PER_PASSAGE, PER_DOCUMENT = 3, 10
OUT = REPO / "bench" / "out" / "sharing.json"


def sentence_pool(limit: int = 60_000) -> list[str]:
    """Sentences of the COVID-QA articles (split at full stops: the texts only need to look real)."""
    pool: list[str] = []
    with open(ARTICLES, encoding="utf-8") as fh:
        for line in fh:
            pool.extend(s.strip() + "." for s in json.loads(line)["context"].split(". ") if len(s.split()) >= 4)
            if len(pool) >= limit:
                break
    return pool[:limit]


def generate(folder: Path, n: int, settings: Settings, centres: np.ndarray, pool: list[str]) -> None:
    """Write a whole qa index of n passages at folder, keyed for `settings` and the bundled model."""
    rng = np.random.default_rng(n)
    docs = -(-n // PER_DOCUMENT)
    arrays = IndexArrays.empty(n, n * PER_PASSAGE)
    records, hashes, bm25 = [], {}, BM25Builder()
    picks = rng.integers(0, len(pool), n * PER_PASSAGE)
    for d in range(docs):
        parts, offset = [], 0
        for p in range(d * PER_DOCUMENT, min(n, (d + 1) * PER_DOCUMENT)):
            arrays.p_doc[p], arrays.p_section[p], arrays.p_start[p] = d, -1, offset
            arrays.p_first[p], arrays.p_last[p] = p * PER_PASSAGE, (p + 1) * PER_PASSAGE
            for s in range(p * PER_PASSAGE, (p + 1) * PER_PASSAGE):
                sentence = pool[picks[s]]
                arrays.s_doc[s], arrays.s_section[s], arrays.s_start[s] = d, -1, offset
                arrays.s_end[s] = offset + len(sentence)
                parts.append(sentence + (" " if s < (p + 1) * PER_PASSAGE - 1 else "\n\n"))
                offset += len(parts[-1])
            arrays.p_end[p] = offset - 2
        text = "".join(parts)
        for p in range(d * PER_DOCUMENT, min(n, (d + 1) * PER_DOCUMENT)):
            bm25.add(terms(text[arrays.p_start[p] : arrays.p_end[p]]))
        doc_id = f"generated/{d:07d}.txt"
        records.append(IndexedDocument(doc_id, f"Generated {d}", "text", f"{d:064x}", text))
        hashes[doc_id] = {"sha256": f"{d:064x}", "title": f"Generated {d}", "passages": PER_DOCUMENT}
    model = model_identity(settings)
    with IndexWriter(folder) as writer:
        passages = fill_vectors(writer.vectors(PASSAGE_VECTORS, n, centres.shape[1]), centres, seed=n)
        sentences = fill_vectors(writer.vectors(SENTENCE_VECTORS, n * PER_PASSAGE, centres.shape[1]), centres, n + 1)
        writer.save(DENSE_FILE, DenseIndex.build(passages).save)
        writer.save(BM25_DIR, bm25.finish().save)
        key = index_key(settings, model)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            index_version=f"generated-{n}",
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            model=dict(model, dimension=int(centres.shape[1])),
            settings=key,
            chunking={"max_chars": key["max_chars"], "overlap": key["overlap"], "sentences": "nltk-punkt"},
            counts={"documents": docs, "passages": n, "sentences": n * PER_PASSAGE},
            documents=hashes,
            versions={},
        )
        writer.commit(IndexData(manifest, records, [], arrays, passages, sentences, {}))


def rollup(pid: int) -> dict[str, float]:
    """RSS, PSS and private anonymous memory of a process in MiB (/proc/PID/smaps_rollup)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024.0
    return {"rss": fields["Rss"], "pss": fields["Pss"], "anonymous": fields["Anonymous"]}


def measure(settings: Settings, workers: int, qs: list[str], mmap: bool) -> dict:
    """Serve with QA_INDEX_MMAP on or off, ask the questions until every worker has answered them all."""
    served = serve(settings, workers, timeout=1800, env={"QA_INDEX_MMAP": "1" if mmap else "0"})
    try:
        # Clients in parallel keep every worker busy, so each one answers (and maps the pages of) many questions.
        with ThreadPoolExecutor(2 * workers) as pool:
            got = list(pool.map(lambda q: _ask(served.port, q), [q for q in qs for _ in range(workers)]))
        answers = {}
        for q, answer in zip([q for q in qs for _ in range(workers)], got, strict=True):
            if answers.setdefault(q, answer) != answer:
                raise RuntimeError(f"two workers answered {q!r} differently")
        memory = [rollup(pid) for pid in served.worker_pids()]
    finally:
        served.stop()
    return {"workers": memory, "answers": answers}


def _ask(port: int, question: str) -> dict:
    client = Client(port)
    try:
        return client.ask(question)
    finally:
        client.close()


def run(sizes: list[int], workers: int, count: int) -> list[dict]:
    """Both variants at each size: memory per worker and whether the answers are the same."""
    pool = sentence_pool()
    qs = questions([], count)
    embedder = SentenceTransformerEmbedder()
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-sharing-") as tmp:
        settings = Settings(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index")
        settings.corpus_dir.mkdir()
        centres = embedder.encode(pool[:2000])
        for n in sizes:
            generate(settings.index_dir, n, settings, centres, pool)
            assert len(read_index(settings.index_dir, mmap=True).documents) == -(-n // PER_DOCUMENT)
            read, mapped = (measure(settings, workers, qs, mmap) for mmap in (False, True))
            row = {"passages": n, "workers": workers, "questions": len(qs)}
            row["same_answers"] = read.pop("answers") == mapped.pop("answers")
            row["read"], row["mapped"] = read["workers"], mapped["workers"]
            rows.append(row)
            print(f"[bench-speed] sharing {n}: {json.dumps(row)}", file=sys.stderr, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    rows = run([int(s) for s in args.sizes.split(",")], args.workers, args.questions)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(rows, indent=2))
    print("\n".join(markdown(rows)))
    return 0


def markdown(rows: list[dict]) -> list[str]:
    """The table docs/PERFORMANCE.md quotes: MiB per worker, and the PSS of all workers together."""
    out = [
        "| passages | index | RSS per worker | PSS per worker | private anonymous per worker | PSS of all workers | "
        "answers equal |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for kind in ("read", "mapped"):
            cells = [", ".join(f"{w[m]:.0f}" for w in row[kind]) for m in ("rss", "pss", "anonymous")]
            total = sum(w["pss"] for w in row[kind])
            out.append(f"| {row['passages']:,} | {kind} | {' | '.join(cells)} | {total:.0f} | {row['same_answers']} |")
    return out


if __name__ == "__main__":
    sys.exit(main())
