"""The term bridge's one-off cost: embedding a corpus's vocabulary, as a ratio to one bare question encode.

Usage: python -m bench.speed.bridge [--bench-dir ../shared/bench]
The first question after an index load that holds a word the documents lack waits for this (qa/search/bridge.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common.data import BENCH_DIR, load_covidqa
from bench.common.stats import percentile, ratio, timed
from qa.index.embedder import SentenceTransformerEmbedder
from qa.search.bridge import TermBridge, vocabulary

QUESTION = "What is the incubation period of the virus?"


def main(argv: list[str] | None = None) -> None:
    """Print the vocabulary's size, the seconds to embed it, and that as a ratio to a bare question encode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    args = parser.parse_args(argv)
    texts = list(load_covidqa(args.bench_dir).files.values())
    embedder = SentenceTransformerEmbedder(None)
    embedder.encode([QUESTION])  # warm-up: the first pass pays for allocations
    bare_p50 = percentile([timed(lambda: embedder.encode([QUESTION]))[0] for _ in range(20)], 50)
    # The bridge's cosine does not matter here: the first stand-in asked for embeds the whole vocabulary.
    bridge = TermBridge(lambda: texts, embedder.encode, min_cosine=0.7)
    seconds, found = timed(lambda: bridge.stand_in("pills"))
    words = len(vocabulary(texts))
    print(f"COVID-QA, {len(texts)} articles, {words} words: the first stand-in ({found!r}) took {seconds:.1f} s")
    print(f"bare question encode p50 {bare_p50 * 1000:.1f} ms; ratio {ratio(seconds, bare_p50):.0f}x")


if __name__ == "__main__":
    main()
