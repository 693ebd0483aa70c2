"""Index build: full build vs bare batch encoding of the same texts, and incremental rebuilds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from qa.config import Settings
from qa.index.content import embedding_texts
from qa.index.store import read_index
from qa.index.tables import split_old
from qa.service import QAService


def embedded_texts(index_dir: Path) -> list[str]:
    """The distinct texts a full build embeds (passages, then sentences, per document), as the indexer forms them."""
    seen: dict[str, None] = {}
    for doc in split_old(read_index(index_dir)).values():
        for group in embedding_texts(doc):
            for text in group:
                seen.setdefault(text, None)
    return list(seen)


def measure(settings: Settings, service: QAService) -> dict:
    """Full build, bare encode of the same texts, a no-change rebuild and a one-document rebuild."""
    start = time.perf_counter()
    model = service.embedder.model  # loaded before timing: both sides below start with it in memory
    out: dict = {"model_load_s": round(time.perf_counter() - start, 3)}

    report = service.build(rebuild=True)
    out["full"] = {"seconds": round(report.seconds, 3), "passages": report.passages, "sentences": report.sentences}
    out["full"]["embedded_texts"] = report.embedded
    texts = embedded_texts(settings.index_dir)
    start = time.perf_counter()
    model.encode(texts, batch_size=64)  # the embedder's batch size
    bare = time.perf_counter() - start
    out["bare_encode"] = {"seconds": round(bare, 3), "texts": len(texts)}
    out["full_vs_bare_ratio"] = round(report.seconds / bare, 3)
    out["passages_per_s"] = round(report.passages / report.seconds, 1)
    out["bare_texts_per_s"] = round(len(texts) / bare, 1)
    out["build_texts_per_s"] = round(report.embedded / report.seconds, 1)
    # The floor a build cannot go under: one pass over each passage (issue: sentences from that same pass).
    passages = [t for doc in split_old(read_index(settings.index_dir)).values() for t in embedding_texts(doc)[0]]
    start = time.perf_counter()
    model.encode(passages, batch_size=64)
    out["bare_passages"] = {"seconds": round(time.perf_counter() - start, 3), "texts": len(passages)}
    out["full_vs_bare_passages_ratio"] = round(report.seconds / out["bare_passages"]["seconds"], 3)

    fresh = QAService(settings)  # no model in memory: a no-change rebuild must not load it
    report = fresh.build()
    out["no_change"] = {
        "seconds": round(report.seconds, 4),
        "embedded": report.embedded,
        "wrote_index": report.wrote_index,
        "model_loaded": fresh.model_loaded,
        "cli_wall_s": round(_cli_build_seconds(settings), 3),
    }

    doc = sorted(Path(settings.corpus_dir).glob("*.txt"))[0]
    original = doc.read_text(encoding="utf-8")
    try:
        doc.write_text(original + "\n\nThis sentence was added by the speed benchmark.\n", encoding="utf-8")
        report = QAService(settings, service.embedder).build()
        out["one_changed"] = {
            "seconds": round(report.seconds, 3),
            "changed": report.changed,
            "embedded": report.embedded,
            "vs_full_ratio": round(report.seconds / out["full"]["seconds"], 3),
        }
    finally:
        doc.write_text(original, encoding="utf-8")
        QAService(settings, service.embedder).build()
    return out


def _cli_build_seconds(settings: Settings) -> float:
    """Wall time of `qa build` in a new process when nothing changed (interpreter start and imports included)."""
    cmd = [
        sys.executable,
        "-m",
        "qa",
        "build",
        "--corpus",
        str(settings.corpus_dir),
        "--index",
        str(settings.index_dir),
    ]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start
