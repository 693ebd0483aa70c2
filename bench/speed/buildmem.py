"""Memory of a full `qa build` of a generated corpus, with a fast fake embedder (the model's cost is not the point).

Usage: python -m bench.speed.buildmem [--documents 2000] [--sentences 50] [--dim 384]

The build runs in a child process; the report gives its peak resident memory (ru_maxrss, which counts
memory-mapped file pages it touched) and its peak anonymous memory (RssAnon sampled every 20 ms: what the
process holds itself and cannot be paged out to the file), against the size of the vectors it writes and of
the corpus; start_anon_mb is the anonymous memory just before the build (interpreter and imports).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


class FastEmbedder:
    """Deterministic pseudo-random unit vectors keyed by text: about 20 µs a text."""

    def __init__(self, dimension: int) -> None:
        self.name = self.fingerprint = f"fast-{dimension}"
        self.dimension = dimension

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest())
            v = np.random.default_rng(seed).standard_normal(self.dimension, dtype=np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def write_corpus(folder: Path, documents: int, sentences: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    words = [f"w{rng.randrange(20_000)}" for _ in range(5_000)]
    folder.mkdir(parents=True, exist_ok=True)
    for d in range(documents):
        body = " ".join(
            " ".join(rng.choice(words) for _ in range(rng.randint(8, 25))).capitalize() + "." for _ in range(sentences)
        )
        (folder / f"doc-{d:05d}.txt").write_text(f"Document {d}\n\n{body}\n", encoding="utf-8")


def _anon_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def child(corpus: str, index: str, dim: int) -> None:
    """Build the index and print peak memory as JSON."""
    from qa.config import Settings
    from qa.service import QAService

    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _anon_kb())

    threading.Thread(target=sample, daemon=True).start()
    start_anon = _anon_kb()
    start = time.perf_counter()
    report = QAService(Settings(corpus_dir=Path(corpus), index_dir=Path(index)), FastEmbedder(dim)).build()
    seconds = time.perf_counter() - start
    done.set()
    print(
        json.dumps(
            {
                "passages": report.passages,
                "sentences": report.sentences,
                "embedded": report.embedded,
                "seconds": round(seconds, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "peak_anon_mb": round(max(peak[0], _anon_kb()) / 1024, 1),
                "start_anon_mb": round(start_anon / 1024, 1),
                "corpus_mb": round(sum(p.stat().st_size for p in Path(corpus).iterdir()) / 2**20, 1),
                "vectors_mb": round((report.passages + report.sentences) * dim * 4 / 2**20, 1),
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--sentences", type=int, default=50)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, args.dim)
        return 0
    with tempfile.TemporaryDirectory(prefix="qa-buildmem-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        write_corpus(corpus, args.documents, args.sentences)
        cmd = [sys.executable, "-m", "bench.speed.buildmem", "--dim", str(args.dim), "--child", str(corpus), str(index)]
        run = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result = json.loads(run.stdout.strip().splitlines()[-1])
    result.update(documents=args.documents, sentences_per_document=args.sentences)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
