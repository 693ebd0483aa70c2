"""Structured request logs and metrics for every request."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time

from flask import Flask, current_app, g, request
from werkzeug.exceptions import HTTPException

from qa.http.metrics import Metrics

access_log = logging.getLogger("qa.access")


def configure_logging() -> None:
    """Send qa's logs (one JSON line per request among them) to stderr, where servers collect them."""
    logger = logging.getLogger("qa")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def install(app: Flask) -> None:
    """Time, log and count every request of app."""
    service = app.extensions["qa"]
    app.extensions["qa.http.metrics"] = Metrics(service.loaded_version)
    if service.batcher is not None:  # a served worker: the questions that wait for its model are batched
        service.batcher.on_batch = app.extensions["qa.http.metrics"].encoded
    app.before_request(_start)
    app.after_request(_finish)


def metrics() -> Metrics:
    """The Metrics of the current app."""
    return current_app.extensions["qa.http.metrics"]


def _start() -> None:
    g.qa_started = time.perf_counter()


def _finish(response):
    started = g.pop("qa_started", None)
    seconds = time.perf_counter() - started if started is not None else 0.0
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    metrics().observe(request.method, route, response.status_code, seconds)
    # Headers are never logged: the admin token travels in one.
    entry = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round(seconds * 1000, 1),
    }
    if current_app.config["LOG_QUESTIONS"] and request.path == "/api/ask":
        with contextlib.suppress(HTTPException):  # a body over the limit stays unread
            body = request.get_json(silent=True)
            if isinstance(body, dict) and isinstance(body.get("question"), str):
                entry["question"] = body["question"]
    access_log.info(json.dumps(entry, ensure_ascii=False))
    return response
