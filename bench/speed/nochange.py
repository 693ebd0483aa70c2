"""A `qa build` with nothing to do, at scale: hashing every file vs remembered digests (qa/index/digests.py).

Usage: python -m bench.speed.nochange [--documents 5000] [--sentences 50] [--dim 384] [--rounds 3]

Builds a generated corpus with the fast fake embedder (bench.speed.buildmem), waits until its files have
settled, then times, in this process, no-change builds that hash every corpus and index file (the digests
file removed before each) against no-change builds that find remembered digests, in alternating rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.common.stats import machine, ratio
from bench.speed.buildmem import FastEmbedder, write_corpus
from qa.config import Settings
from qa.index.build import build_index
from qa.index.digests import DIGESTS_FILE, SETTLE_NS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument("--sentences", type=int, default=50)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        write_corpus(corpus, args.documents, args.sentences)
        settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=index)
        embedder = FastEmbedder(args.dim)
        model = {"name": embedder.name, "fingerprint": embedder.name}
        report = build_index(settings, lambda: embedder, model=model)
        time.sleep(SETTLE_NS / 1e9 + 0.5)
        index_mb = sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) / 2**20
        corpus_mb = sum(p.stat().st_size for p in corpus.iterdir()) / 2**20

        def timed(forget: bool) -> float:
            if forget:
                (index / DIGESTS_FILE).unlink(missing_ok=True)
            start = time.perf_counter()
            again = build_index(settings, lambda: embedder, model=model)
            assert not again.wrote_index, "the no-change build rebuilt"
            return time.perf_counter() - start

        hashed, remembered = [], []
        for _ in range(args.rounds):
            hashed.append(timed(True))
            remembered.append(timed(False))
    result = {
        "machine": machine(),
        "documents": args.documents,
        "passages": report.passages,
        "sentences": report.sentences,
        "corpus_mb": round(corpus_mb, 1),
        "index_mb": round(index_mb, 1),
        "hash_every_file_s": [round(x, 3) for x in hashed],
        "remembered_digests_s": [round(x, 3) for x in remembered],
        "remembered_vs_hashed": ratio(statistics.median(remembered), statistics.median(hashed)),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
