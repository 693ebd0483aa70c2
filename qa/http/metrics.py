"""Request metrics in the Prometheus text format, summed over gunicorn workers when they share a folder.

prometheus_client is imported only inside functions: it picks its value store (memory, or files in
PROMETHEUS_MULTIPROC_DIR) when first imported, and the gunicorn arbiter sets that variable before its workers
import it. Importing it here would fix the store in the arbiter, before the folder exists.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def enable_multiprocess(folder: Path) -> None:
    """Make the processes forked from now on count into files in folder (PROMETHEUS_MULTIPROC_DIR)."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()  # counts of an earlier server would be added to this one's
    os.environ[MULTIPROC_ENV] = str(folder)


def worker_exited(pid: int) -> None:
    """Bookkeeping for a gunicorn worker that has gone (a gunicorn child_exit hook)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class _IndexInfo:
    """qa_index_info{index_version=...} 1 for the index this process answers from, read at scrape time."""

    def __init__(self, version: Callable[[], str | None]) -> None:
        self.version = version

    def collect(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("qa_index_info", "The index being served", labels=["index_version"])
        version = self.version()
        if version:
            family.add_metric([version], 1)
        yield family


class Metrics:
    """Counters and a latency histogram of one app; `render()` gives the text /api/metrics serves."""

    def __init__(self, index_version: Callable[[], str | None]) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        from qa.feedback import VERDICTS

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "qa_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter("qa_answers", "Answers to /api/ask by outcome", ["outcome"], registry=self.registry)
        self.answers.labels("answered")
        self.answers.labels("declined")
        self.batch_size = Histogram(
            "qa_encode_batch_size",
            "Questions encoded together in one forward pass (count: passes, sum: questions)",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.feedback = Counter("qa_feedback", "Feedback on answers by verdict", ["verdict"], registry=self.registry)
        for verdict in VERDICTS:
            self.feedback.labels(verdict)
        self.index_info = _IndexInfo(index_version)
        self.registry.register(self.index_info)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def answered(self, abstained: bool) -> None:
        """Count one answer, declined or not."""
        self.answers.labels("declined" if abstained else "answered").inc()

    def gave_feedback(self, verdict: str) -> None:
        """Count one verdict on an answer."""
        self.feedback.labels(verdict).inc()

    def encoded(self, questions: int) -> None:
        """Count one forward pass of the model over `questions` questions."""
        self.batch_size.observe(questions)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every metric (all workers' when multiprocess), and its content type."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        if not os.environ.get(MULTIPROC_ENV):
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()  # one per scrape: the files of every worker, and this worker's index
        multiprocess.MultiProcessCollector(registry)
        registry.register(self.index_info)
        return generate_latest(registry), CONTENT_TYPE_LATEST
