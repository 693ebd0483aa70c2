"""Feedback on answers: stored in SQLite beside the index, exported as `qa eval` questions to become tests.

The file is `<index folder>.feedback.sqlite3` next to the index folder (QA_FEEDBACK_DB names another): not
inside it, since a build swaps the whole folder. WAL mode, so gunicorn workers write to it side by side.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from qa.config import Settings
from qa.db import connect
from qa.errors import InvalidRequest, TooLarge
from qa.search.params import MAX_QUOTES
from qa.search.validate import validate_history, validate_question

VERDICTS = ("helpful", "not_helpful")
MAX_COMMENT_CHARS = 2000
MAX_QUOTE_CHARS = 20_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, verdict TEXT NOT NULL, comment TEXT,
    question TEXT NOT NULL, history TEXT NOT NULL, search_query TEXT, abstained INTEGER NOT NULL,
    answer TEXT NOT NULL, citations TEXT NOT NULL, index_version TEXT
);
CREATE INDEX IF NOT EXISTS feedback_verdict ON feedback (verdict);
"""
CITATION_FIELDS = {"doc_id": str, "title": str, "quote": str, "start": int, "end": int}


def feedback_path(settings: Settings) -> Path:
    """The feedback database of these settings."""
    if settings.feedback_db:
        return Path(settings.feedback_db)
    index_dir = Path(settings.index_dir)
    return index_dir.with_name(f"{index_dir.name}.feedback.sqlite3")


@dataclass
class Feedback:
    """One verdict on one answer, checked."""

    verdict: str
    comment: str | None
    question: str
    history: list[str]
    search_query: str | None
    abstained: bool
    answer: str
    citations: list[dict]
    index_version: str | None


def _citations(raw: object) -> list[dict]:
    if not isinstance(raw, list) or len(raw) > MAX_QUOTES:
        raise InvalidRequest(f"answer.citations must be a list of at most {MAX_QUOTES} citations")
    out = []
    for c in raw:
        if not isinstance(c, dict) or not all(_is(c.get(f), t) for f, t in CITATION_FIELDS.items()):
            raise InvalidRequest(f"each citation needs {', '.join(CITATION_FIELDS)} as /api/ask gives them")
        if len(c["quote"]) > MAX_QUOTE_CHARS or len(c["title"]) > MAX_QUOTE_CHARS or len(c["doc_id"]) > MAX_QUOTE_CHARS:
            raise TooLarge(f"a citation field is longer than {MAX_QUOTE_CHARS} characters")
        out.append({f: t(c[f]) for f, t in CITATION_FIELDS.items()})
    return out


def _is(value: object, kind: type) -> bool:
    """Whether value is of kind; for int, JSON Schema's integer: 3.0 is one."""
    if kind is int:
        return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
    return isinstance(value, kind)


def _clean(value):
    """Strings that SQLite and a UTF-8 export can hold: a lone surrogate (valid in JSON text) becomes '?'."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def parse_feedback(body: dict) -> Feedback:
    """The feedback of a POST /api/feedback body, or InvalidRequest / TooLarge naming what is wrong."""
    if "question" not in body or "answer" not in body:
        raise InvalidRequest("question and answer (the JSON answer of /api/ask) are required")
    verdict, comment, answer = body.get("verdict"), body.get("comment"), body["answer"]
    if verdict not in VERDICTS:
        raise InvalidRequest(f"verdict must be one of {', '.join(VERDICTS)}")
    if comment is not None and not isinstance(comment, str):
        raise InvalidRequest("comment must be a string")
    if comment and len(comment) > MAX_COMMENT_CHARS:
        raise TooLarge(f"comment is longer than {MAX_COMMENT_CHARS} characters")
    if not isinstance(answer, dict):
        raise InvalidRequest("answer must be the JSON answer /api/ask gave")
    text, version, search_query = answer.get("answer", ""), answer.get("index_version"), answer.get("search_query")
    if not all(isinstance(v, str | None) for v in (text, version, search_query)) or text is None:
        raise InvalidRequest("answer.answer, answer.index_version and answer.search_query must be strings")
    if any(len(v or "") > MAX_QUOTE_CHARS for v in (text, version, search_query)):
        raise TooLarge(f"an answer field is longer than {MAX_QUOTE_CHARS} characters")
    return Feedback(
        verdict,
        _clean((comment or "").strip() or None),
        _clean(validate_question(body["question"])),
        _clean(validate_history(body.get("history"))),
        _clean(search_query),
        answer.get("abstained") is True,
        _clean(text),
        _clean(_citations(answer.get("citations", []))),
        _clean(version),
    )


class FeedbackStore:
    """The feedback database."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def add(self, fb: Feedback) -> int:
        """Store one feedback; its id."""
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            fb.verdict,
            fb.comment,
            fb.question,
            json.dumps(fb.history, ensure_ascii=False),
            fb.search_query,
            int(fb.abstained),
            fb.answer,
            json.dumps(fb.citations, ensure_ascii=False),
            fb.index_version,
        )
        with connect(self.path, SCHEMA) as conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, verdict, comment, question, history, search_query, abstained, "
                "answer, citations, index_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid)

    def export(self, verdict: str | None = None) -> Iterator[dict]:
        """Each stored feedback (of one verdict, if given), oldest first, as a `qa eval` question."""
        if verdict is not None and verdict not in VERDICTS:
            raise InvalidRequest(f"verdict must be one of {', '.join(VERDICTS)}")
        where, args = ("WHERE verdict = ?", (verdict,)) if verdict else ("", ())
        with connect(self.path, SCHEMA) as conn:
            rows = conn.execute(f"SELECT * FROM feedback {where} ORDER BY id", args).fetchall()
        for row in rows:
            yield eval_question(row)


def eval_question(row) -> dict:
    """A stored feedback as a line of a `qa eval` file: an empty `answers` means "should be declined" there,
    so the operator fills in the accepted answer (or leaves it empty when declining is right)."""
    item = {"id": f"feedback-{row['id']}", "question": row["question"], "answers": []}
    history = json.loads(row["history"])
    if history:
        item["history"] = history
    citations = json.loads(row["citations"])
    return item | {
        "verdict": row["verdict"],
        "comment": row["comment"],
        "abstained": bool(row["abstained"]),
        "quotes": [c["quote"] for c in citations],
        "citations": [{k: c[k] for k in ("doc_id", "start", "end")} for c in citations],
        "index_version": row["index_version"],
        "created_at": row["created_at"],
    }
