"""Feedback on answers: stored in SQLite beside the index, limited, counted, exported as `qa eval` questions."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from click.testing import CliRunner

from qa import cli as cli_module
from qa.feedback import MAX_COMMENT_CHARS, FeedbackStore, feedback_path
from qa.http.app import create_app
from tests.web_helpers import ADMIN_TOKEN, check_error, check_schema, web_service

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
QUESTION = "How long is green tea brewed?"


def answer_of(client, question=QUESTION, **extra):
    return client.post("/api/ask", json={"question": question, **extra}).get_json()


def give(client, answer, verdict="not_helpful", **extra):
    body = {"question": answer["question"], "answer": answer, "verdict": verdict, **extra}
    return client.post("/api/feedback", json=body)


def export(client, query=""):
    response = client.get(f"/api/feedback{query}", headers=AUTH)
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def test_feedback_is_stored_beside_the_index_and_exported_as_eval_questions(app, client):
    answer = answer_of(client, "Where does it come from?", history=[QUESTION])
    response = give(client, answer, comment="  wrong paragraph  ", history=[QUESTION])
    assert response.status_code == 201
    check_schema(response.get_json(), "FeedbackStored")
    assert give(client, answer_of(client), "helpful").status_code == 201
    settings = app.extensions["qa"].settings
    path = feedback_path(settings)
    assert path == settings.index_dir.with_name("index.feedback.sqlite3") and path.exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    items = export(client)
    assert [i["verdict"] for i in items] == ["not_helpful", "helpful"]
    first = items[0]
    assert first["id"] == f"feedback-{response.get_json()['id']}"
    assert first["question"] == "Where does it come from?" and first["history"] == [QUESTION]
    assert first["answers"] == [] and first["comment"] == "wrong paragraph"
    assert first["quotes"] == [c["quote"] for c in answer["citations"]]
    assert first["citations"][0] == {k: answer["citations"][0][k] for k in ("doc_id", "start", "end")}
    assert first["index_version"] == answer["index_version"]
    assert [i["verdict"] for i in export(client, "?verdict=not_helpful")] == ["not_helpful"]
    assert "history" not in items[1]  # none was given


def test_an_exported_file_with_answers_filled_in_runs_through_qa_eval(app, client, tmp_path, monkeypatch):
    give(client, answer_of(client))
    give(client, answer_of(client, "What is the capital of France?"))
    items = export(client)
    items[0]["answers"] = ["eighty degrees"]  # the operator's accepted answer; the second should be declined
    path = tmp_path / "complaints.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    service = app.extensions["qa"]
    monkeypatch.setattr(cli_module, "service_for", lambda settings: service)
    result = CliRunner().invoke(cli_module.cli, ["eval", "--json", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["questions"] == 2 and report["hit_at_1"] == 1.0 and report["declined_out_of_scope"] == 1.0


def test_qa_feedback_export_prints_the_same_lines(app, client, monkeypatch):
    give(client, answer_of(client), "helpful")
    give(client, answer_of(client))
    service = app.extensions["qa"]
    monkeypatch.setattr(cli_module, "service_for", lambda settings: service)
    runner = CliRunner()
    result = runner.invoke(cli_module.cli, ["feedback", "export", "--verdict", "not-helpful"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()] == export(client, "?verdict=not_helpful")
    assert len(runner.invoke(cli_module.cli, ["feedback", "export"]).output.splitlines()) == 2


def _bad_bodies(answer):
    base = {"question": QUESTION, "answer": answer, "verdict": "helpful"}
    yield {k: v for k, v in base.items() if k != "answer"}, 400, "invalid_request"
    yield {**base, "verdict": "meh"}, 400, "invalid_request"
    yield {**base, "verdict": None}, 400, "invalid_request"
    yield {**base, "question": ""}, 400, "invalid_request"
    yield {**base, "question": "x" * 2001}, 413, "too_large"
    yield {**base, "history": "no"}, 400, "invalid_request"
    yield {**base, "comment": 5}, 400, "invalid_request"
    yield {**base, "comment": "x" * (MAX_COMMENT_CHARS + 1)}, 413, "too_large"
    yield {**base, "answer": "the answer"}, 400, "invalid_request"
    yield {**base, "answer": {**answer, "citations": "none"}}, 400, "invalid_request"
    yield {**base, "answer": {**answer, "citations": [{"quote": 1}]}}, 400, "invalid_request"
    yield {**base, "answer": {**answer, "citations": answer["citations"][:1] * 11}}, 400, "invalid_request"
    yield {**base, "answer": {**answer, "index_version": 7}}, 400, "invalid_request"
    yield {**base, "comment": "x" * 70_000}, 413, "too_large"  # the body limit


def test_bad_feedback_is_refused_and_nothing_is_stored(client):
    answer = answer_of(client)
    for body, status, code in _bad_bodies(answer):
        check_error(client.post("/api/feedback", json=body), status, code)
    check_error(client.post("/api/feedback", data="verdict=helpful"), 415, "unsupported_media_type")
    assert export(client) == []


def test_the_export_needs_the_token_and_a_known_verdict(client):
    check_error(client.get("/api/feedback"), 401, "unauthorized")
    check_error(client.get("/api/feedback", headers={"Authorization": "Bearer no"}), 403, "forbidden")
    check_error(client.get("/api/feedback?verdict=meh", headers=AUTH), 400, "invalid_request")


def test_feedback_is_rate_limited_and_counted_in_the_metrics(tmp_path):
    app = create_app({"QA_SERVICE": web_service(tmp_path), "ADMIN_TOKEN": ADMIN_TOKEN, "RATE_LIMIT": 3})
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"  # another machine: loopback is exempt by default
    answer = answer_of(client)  # one of the three
    assert give(client, answer, "helpful").status_code == 201
    assert give(client, answer).status_code == 201
    check_error(give(client, answer), 429, "too_many_requests")
    metrics = client.get("/api/metrics").get_data(as_text=True)
    assert 'qa_feedback_total{verdict="helpful"} 1.0' in metrics
    assert 'qa_feedback_total{verdict="not_helpful"} 1.0' in metrics


def test_writers_in_many_threads_lose_nothing(tmp_path, client):
    answer = answer_of(client)
    store = client.application.extensions["qa.feedback"]
    body = {"question": QUESTION, "answer": answer, "verdict": "helpful"}
    from qa.feedback import parse_feedback

    def write():
        for _ in range(20):
            FeedbackStore(store.path).add(parse_feedback(body))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(store.export())) == 80


@pytest.mark.parametrize("name", ["feedback.sqlite3", "data/fb.db"])
def test_qa_feedback_db_names_another_file(tmp_path, name):
    settings = web_service(tmp_path, build=False).settings.updated(feedback_db=str(tmp_path / name))
    assert feedback_path(settings) == tmp_path / name


def test_odd_but_valid_json_is_stored_and_exported(client):
    answer = answer_of(client)
    odd = {**answer, "citations": [{**c, "start": float(c["start"])} for c in answer["citations"]]}
    assert give(client, odd, comment="lone \ud800 surrogate").status_code == 201
    assert export(client)[0]["comment"] == "lone ? surrogate"


def test_new_databases_opened_by_many_threads_at_once_are_never_locked(tmp_path):
    # Switching a new file to WAL while another connection closes fails at once with "database is locked" unless
    # qa.db retries it (about 1 round in 15 failed before it did).
    from qa.db import connect
    from qa.feedback import SCHEMA

    errors = []

    def open_and_close(path):
        for _ in range(10):
            try:
                with connect(path, SCHEMA) as conn:
                    conn.execute("SELECT count(*) FROM feedback").fetchone()
            except sqlite3.OperationalError as exc:
                errors.append(exc)

    for round_ in range(40):
        path = tmp_path / f"round-{round_}.sqlite"
        threads = [threading.Thread(target=open_and_close, args=(path,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
