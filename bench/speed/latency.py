"""One question at a time: bare model.encode vs QAService.ask vs POST /api/ask, interleaved per question."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict

from bench.common.stats import percentile, ratio, summarize
from bench.speed.server import Client
from qa.service import QAService

# Steps of QAService.ask timed by wrapping the product's own objects (nothing is re-implemented here).
STEPS = ("encode", "dense search", "bm25 scores", "retrieval (fusion, total)", "answer")


class _Timer:
    """Accumulates the time spent in wrapped calls during one question."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[name] += time.perf_counter() - start

        return timed

    def take(self) -> dict[str, float]:
        out, self.current = dict(self.current), defaultdict(float)
        return out


def _instrument(service: QAService, timer: _Timer) -> Callable[[], None]:
    """Wrap the service's embedder, retriever and answerer methods with timers; returns an undo."""
    loaded = service.load()
    targets = [
        (service.embedder, "encode", "encode"),
        (loaded.retriever.dense, "search", "dense search"),
        (loaded.retriever.bm25, "scores", "bm25 scores"),
        (loaded.retriever, "search", "retrieval (fusion, total)"),
        (loaded.answerer, "answer", "answer"),
    ]
    for obj, attr, name in targets:
        setattr(obj, attr, timer.wrap(name, getattr(obj, attr)))
    return lambda: [delattr(obj, attr) for obj, attr, _ in targets]


def measure(service: QAService, questions: list[str], port: int | None) -> dict:
    """Latency percentiles of the three paths and where the time of `ask` goes."""
    model = service.embedder.model  # the bare SentenceTransformer
    client = Client(port) if port else None
    bare, ask, http = [], [], []
    steps: dict[str, list[float]] = defaultdict(list)
    timer = _Timer()
    undo = _instrument(service, timer)
    try:
        for i, q in enumerate(questions):
            runs = [
                ("bare", lambda q=q: model.encode([q])),
                ("ask", lambda q=q: service.ask(q)),
            ]
            if client:
                runs.append(("http", lambda q=q: client.ask(q)))
            # Rotate the order so no path always runs first after a pause (caches, CPU frequency).
            shift = i % len(runs)
            for name, fn in runs[shift:] + runs[:shift]:
                start = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - start
                {"bare": bare, "ask": ask, "http": http}[name].append(elapsed)
                if name == "ask":
                    for step, seconds in timer.take().items():
                        steps[step].append(seconds)
                    steps["total"].append(elapsed)
                else:
                    timer.take()
    finally:
        undo()
        if client:
            client.close()
    out = {"questions": len(questions), "bare_encode": asdict(summarize(bare)), "ask": asdict(summarize(ask))}
    out["ask_p50_ratio"] = ratio(out["ask"]["p50"], out["bare_encode"]["p50"])
    if http:
        out["http"] = asdict(summarize(http))
        out["http_p50_ratio"] = ratio(out["http"]["p50"], out["bare_encode"]["p50"])
    out["breakdown_ms"] = _breakdown(steps)
    return out


def _breakdown(steps: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Mean and p50 per step of ask, plus what is left outside the timed steps."""
    n = len(steps["total"])
    per_q = {name: values + [0.0] * (n - len(values)) for name, values in steps.items()}
    per_q["answer"] = per_q.get("answer", [0.0] * n)
    outside = [
        t - e - r - a
        for t, e, r, a in zip(
            per_q["total"], per_q["encode"], per_q["retrieval (fusion, total)"], per_q["answer"], strict=True
        )
    ]
    per_q["other (validation, query, terms, citation check)"] = outside
    return {
        name: {"mean": round(sum(v) / n * 1000, 3), "p50": round(percentile(v, 50) * 1000, 3)}
        for name, v in per_q.items()
    }
