"""Process CPU per question for a bare encode, QAService.ask and the Flask app.

Usage: python -m bench.speed.cpu [--rounds 3]

One process, one torch thread, the default corpus and the dev questions (../shared/eval/dev.jsonl) ten times
over; the three paths are timed in turn for three rounds, so each ratio is taken under the same conditions.
CPU time (time.process_time) rather than wall time: it is what throughput is made of.
"""

from __future__ import annotations

import argparse
import time

from bench.common.data import DEV_FILE
from qa.config import Settings
from qa.evaluate import read_items
from qa.http.app import create_app
from qa.http.threads import limit_threads


def main(argv: list[str] | None = None) -> None:
    """Print CPU ms per question for each path and the ratios to the bare encode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args(argv).rounds
    limit_threads(1)
    app = create_app({"QA_SETTINGS": Settings.from_env(), "WARM_UP": True, "RATE_LIMIT": 0})
    client, service = app.test_client(), app.extensions["qa"]
    model = service.embedder.model
    questions = [item.question for item in read_items(DEV_FILE)] * 10

    def per_question(fn) -> float:
        started = time.process_time()
        for q in questions:
            fn(q)
        return (time.process_time() - started) / len(questions) * 1000

    for q in questions[:20]:
        client.post("/api/ask", json={"question": q})
    print(
        "| round | bare model.encode([q]) ms | QAService.ask ms (x bare) | the same through encode() (x bare) "
        "| POST /api/ask, in process ms (x bare) |"
    )
    print("|---|---:|---:|---:|---:|")
    for n in range(1, rounds + 1):
        bare = per_question(lambda q: model.encode([q], normalize_embeddings=True, show_progress_bar=False))
        ask = per_question(service.ask)
        service.embedder.direct = False  # the question encode as it was: SentenceTransformer.encode()
        via_encode = per_question(service.ask)
        service.embedder.direct = True
        http = per_question(lambda q: client.post("/api/ask", json={"question": q}))
        print(
            f"| {n} | {bare:.2f} | {ask:.2f} ({ask / bare:.2f}x) | {via_encode:.2f} ({via_encode / bare:.2f}x) "
            f"| {http:.2f} ({http / bare:.2f}x) |"
        )


if __name__ == "__main__":
    main()
