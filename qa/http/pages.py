"""The web blueprint: the chat page and the source pages its citations open."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from qa.http.context import service

bp = Blueprint("web", __name__)


@bp.get("/")
def chat():
    """The chat page; the conversation itself runs in static/chat.js against /api/ask."""
    return render_template("chat.html", examples=current_app.config["EXAMPLES"])


@bp.get("/source/<path:doc_id>")
def source(doc_id: str):
    """A document as a readable page, with the cited span [start, end) marked."""
    doc = service().document(doc_id)  # only indexed documents: doc_id never reaches the file system
    if doc is None:
        abort(404, f"no document {doc_id!r} in the index")
    text = doc["text"]
    start, end = _span(len(text))
    return render_template(
        "source.html",
        doc=doc,
        before=text[:start],
        cited=text[start:end],
        after=text[end:],
        start=start,
        end=end,
    )


def _span(length: int) -> tuple[int, int]:
    """start and end from the query string (both or neither), within the text; 400 otherwise."""
    raw_start, raw_end = request.args.get("start"), request.args.get("end")
    if raw_start is None and raw_end is None:
        return 0, 0
    try:
        start, end = int(raw_start), int(raw_end)
    except (TypeError, ValueError):
        abort(400, "start and end must both be whole numbers")
    if not 0 <= start <= end <= length:
        abort(400, f"start and end must satisfy 0 <= start <= end <= {length}")
    return start, end
