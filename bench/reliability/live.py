"""A production server (`qa serve --workers N`) over a copy of the corpus, for the reliability benchmarks."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from qa.testing import ADMIN_TOKEN, DEFAULT_CORPUS, qa_build, serving

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
_SAMPLE = re.compile(r"^qa_http_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.MULTILINE)


@contextmanager
def production_server(root: Path, workers: int = 2, pids: list[int] | None = None) -> Iterator[str]:
    """Build an index of the default corpus in root and serve it with gunicorn; yield the base URL."""
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(DEFAULT_CORPUS, corpus)
    qa_build(corpus, index)
    with serving(corpus, index, root / "serve.log", "--workers", str(workers), pids=pids) as base:
        yield base


def request_counts(base: str) -> dict[str, float]:
    """Requests served so far by status class ("2xx", "4xx", "5xx"), summed over workers, from /api/metrics."""
    counts: dict[str, float] = {}
    for match in _SAMPLE.finditer(requests.get(f"{base}/api/metrics", timeout=30).text):
        status = re.search(r'status="(\d)', match["labels"])[1] + "xx"
        counts[status] = counts.get(status, 0.0) + float(match["value"])
    return counts
