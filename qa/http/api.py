"""The JSON API blueprint: ask, health, documents, reindex, metrics and its own OpenAPI description."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, request

from qa.errors import InvalidRequest
from qa.http.admin import require_admin
from qa.http.context import service
from qa.http.jobs import start_build
from qa.http.observe import metrics
from qa.http.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body() -> dict:
    """The request body as a JSON object; 415 when it is not JSON, 400 when it is malformed."""
    if not request.is_json:
        abort(415, "send the request body as JSON (Content-Type: application/json)")
    try:
        body = json.loads(request.get_data())  # over MAX_CONTENT_LENGTH this raises 413 first
    except ValueError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


@bp.post("/ask")
def ask():
    """Answer one question with cited quotes, or decline (limited per client: qa.http.limiting)."""
    body = json_body()
    if "question" not in body:
        raise InvalidRequest("question is required")
    answer = service().ask(body["question"], body.get("history"), k=body.get("k", 3), doc_ids=body.get("doc_ids"))
    metrics().answered(answer.abstained)
    return answer.to_dict()


@bp.get("/live")
def live():
    """Liveness: the process answers; it touches neither the model nor the index (readiness is /api/health)."""
    return {"status": "alive"}


@bp.get("/health")
def health():
    """Readiness: whether the index is loaded (503 until it is), and what it holds."""
    info = service().info()
    health = {
        "status": "ok",
        "documents": info["documents"],
        "passages": info["passages"],
        "model": info["model"],
        "index_version": info["index_version"],
    }
    if "shards_unhealthy" in info:  # served from a Ray cluster: answers leave these shards out (partial)
        unhealthy = info["shards_unhealthy"]
        health.update(status="degraded" if unhealthy else "ok", shards=info["shards"], shards_unhealthy=unhealthy)
    return health


@bp.get("/documents/<path:doc_id>")
def document(doc_id: str):
    """The indexed text of one document: the text citation offsets index."""
    doc = service().document(doc_id)
    if doc is None:
        abort(404, f"no document {doc_id!r} in the index")
    return doc


@bp.post("/reindex")
def reindex():
    """Start (or join) a job that updates the index from the corpus folder; ?wait=true answers when it is done."""
    require_admin()
    return start_build("reindex")


@bp.get("/metrics")
def metrics_text():
    """Request counts, answers and declines, latency and the index version, in the Prometheus text format."""
    body, content_type = metrics().render()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return openapi_document(request.host_url.rstrip("/"))
