"""`python -m bench.speed_cpu`: process CPU per question for a bare encode, QAService.ask and the Flask app.

One process, one torch thread, the default corpus and the dev questions (../shared/eval/dev.jsonl) ten times
over; the three paths are timed in turn for three rounds, so each ratio is taken under the same conditions.
CPU time (time.process_time) rather than wall time: it is what throughput is made of.
"""

from __future__ import annotations

import time

from bench.data import DEV_FILE
from qa.config import Settings
from qa.evaluate import read_items
from qa.http.app import create_app
from qa.http.threads import limit_threads


def main(rounds: int = 3) -> None:
    """Print CPU ms per question for each path and the ratios to the bare encode."""
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
        service.embedder._direct = False  # the question encode as it was: SentenceTransformer.encode()
        via_encode = per_question(service.ask)
        service.embedder._direct = True
        http = per_question(lambda q: client.post("/api/ask", json={"question": q}))
        print(
            f"| {n} | {bare:.2f} | {ask:.2f} ({ask / bare:.2f}x) | {via_encode:.2f} ({via_encode / bare:.2f}x) "
            f"| {http:.2f} ({http / bare:.2f}x) |"
        )


if __name__ == "__main__":
    main()
