"""The feedback blueprint: helpful / not helpful on answers, stored, counted, and exported for `qa eval`."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

from qa.feedback import FeedbackStore, feedback_path, parse_feedback
from qa.http.admin import require_admin
from qa.http.api import json_body
from qa.http.observe import metrics

bp = Blueprint("feedback", __name__, url_prefix="/api")
NDJSON = "application/x-ndjson"


@bp.record_once
def _setup(state) -> None:
    app = state.app
    app.extensions["qa.feedback"] = FeedbackStore(feedback_path(app.extensions["qa"].settings))


@bp.post("/feedback")
def give():
    """Store a verdict (and an optional comment) on an answer /api/ask gave (limited with it: qa.http.limiting)."""
    feedback = parse_feedback(json_body())
    feedback_id = current_app.extensions["qa.feedback"].add(feedback)
    metrics().gave_feedback(feedback.verdict)
    return {"id": feedback_id, "verdict": feedback.verdict}, 201


@bp.get("/feedback")
def export():
    """Every feedback (?verdict=helpful|not_helpful: of one verdict) as JSON lines of `qa eval` questions."""
    require_admin()
    rows = current_app.extensions["qa.feedback"].export(request.args.get("verdict") or None)
    lines = [json.dumps(item, ensure_ascii=False) + "\n" for item in rows]
    return Response("".join(lines), content_type=NDJSON)
