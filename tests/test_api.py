"""The JSON API through the Flask test client: every endpoint, and every error in the one error shape."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

import pytest

from qa.http.app import create_app
from qa.http.openapi import openapi_document
from qa.index.store import build_lock
from qa.search.retriever import Retriever
from qa.search.validate import MAX_QUESTION_CHARS
from qa.testing import HashEmbedder
from tests.helpers import write_files
from tests.web_helpers import ADMIN_TOKEN, COMETS, check_error, check_schema, web_service

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HANG_GUARD = 60  # seconds: only so that a broken build fails instead of hanging; no test measures time


def ask(client, question, **extra):
    return client.post("/api/ask", json={"question": question, **extra})


def test_ask_answers_with_quotes_whose_offsets_select_them(client):
    response = ask(client, "How long is green tea brewed?")
    assert response.status_code == 200
    answer = response.get_json()
    check_schema(answer, "Answer")
    assert list(answer) == [
        "question",
        "search_query",
        "abstained",
        "answer",
        "index_version",
        "confidence",
        "citations",
    ]
    assert not answer["abstained"]
    assert "eighty degrees" in answer["citations"][0]["quote"]
    for c in answer["citations"]:
        text = client.get(f"/api/documents/{c['doc_id']}").get_json()["text"]
        assert text[c["start"] : c["end"]] == c["quote"]


def test_ask_declines_what_the_documents_do_not_say(client):
    answer = ask(client, "What is the capital of France?").get_json()
    assert answer["abstained"] is True
    assert answer["citations"] == []


def test_ask_limits_quotes_to_k(client):
    answer = ask(client, "How long is green tea brewed?", k=1).get_json()
    assert len(answer["citations"]) == 1


def test_follow_up_is_searched_with_the_history(client):
    answer = ask(client, "Where does it come from?", history=["How long is green tea brewed?"]).get_json()
    assert answer["question"] == "Where does it come from?"
    assert "green" in answer["search_query"] and "tea" in answer["search_query"]


def test_health_describes_the_loaded_index(app, client):
    health = client.get("/api/health").get_json()
    check_schema(health, "Health")
    assert health["status"] == "ok"
    assert health["documents"] == 2
    assert health["model"] == "hash-256"
    assert health["index_version"] == app.extensions["qa"].info()["index_version"]


def test_document_returns_the_indexed_text(client):
    doc = client.get("/api/documents/tea/green-tea.md").get_json()
    check_schema(doc, "Document")
    assert doc["doc_id"] == "tea/green-tea.md"
    assert doc["title"] == "Green Tea"
    assert "eighty degrees" in doc["text"]


def test_openapi_describes_every_api_route(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc == openapi_document("http://localhost")
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert served == documented


def test_reindex_adds_a_new_document_and_answers_from_it(app, client):
    old = client.get("/api/health").get_json()["index_version"]
    write_files(app.extensions["qa"].settings.corpus_dir, {"comets.txt": COMETS})
    response = client.post("/api/reindex?wait=true", headers=AUTH)
    assert response.status_code == 200
    check_schema(response.get_json()["job"], "Job")
    report = response.get_json()["job"]["result"]
    check_schema(report, "ReindexReport")
    assert (report["added"], report["changed"], report["removed"], report["unchanged"]) == (1, 0, 0, 2)
    assert report["index_version"] != old
    assert client.get("/api/health").get_json()["index_version"] == report["index_version"]
    answer = ask(client, "How often does Halley's Comet return?").get_json()
    assert answer["citations"][0]["doc_id"] == "comets.txt"


def test_reindex_answers_202_with_a_job_that_runs_to_its_report(app, client):
    write_files(app.extensions["qa"].settings.corpus_dir, {"comets.txt": COMETS})
    response = client.post("/api/reindex", headers=AUTH)
    assert response.status_code == 202
    job = response.get_json()["job"]
    check_schema(job, "Job")
    assert response.headers["Location"] == f"/api/jobs/{job['id']}"
    assert job["state"] in ("queued", "running", "done")
    for _ in range(HANG_GUARD * 10):
        job = client.get(response.headers["Location"], headers=AUTH).get_json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    check_schema(job, "Job")
    assert job["state"] == "done", job
    assert job["result"]["added"] == 1 and job["error"] is None
    assert client.get("/api/health").get_json()["index_version"] == job["result"]["index_version"]


def test_a_reindex_while_another_build_runs_queues_and_a_second_one_joins_it(app, client):
    with build_lock(app.extensions["qa"].settings.index_dir):  # a `qa build` beside the server, in effect
        first = client.post("/api/reindex", headers=AUTH).get_json()["job"]
        second = client.post("/api/reindex", headers=AUTH).get_json()["job"]
        assert second["id"] == first["id"]
        time.sleep(0.3)
        assert client.get(f"/api/jobs/{first['id']}", headers=AUTH).get_json()["state"] == "queued"
    done = client.post("/api/reindex?wait=true", headers=AUTH).get_json()["job"]
    assert app.extensions["qa.jobs"].store.wait(first["id"]).state == "done"
    assert done["state"] == "done"


def test_a_job_that_cannot_get_the_build_lock_fails_with_build_locked(tmp_path):
    service = web_service(tmp_path)
    service.settings = replace(service.settings, lock_timeout=0.2)
    client = create_app({"QA_SERVICE": service, "ADMIN_TOKEN": ADMIN_TOKEN}).test_client()
    with build_lock(service.settings.index_dir):
        check_error(client.post("/api/reindex?wait=true", headers=AUTH), 409, "build_locked")
        job_id = client.post("/api/reindex", headers=AUTH).get_json()["job"]["id"]
        job = client.application.extensions["qa.jobs"].store.wait(job_id)
    assert job.state == "failed" and job.error["code"] == "build_locked"


def test_jobs_need_the_token_and_unknown_ones_are_404(client):
    check_error(client.get("/api/jobs/0123456789abcdef"), 401, "unauthorized")
    check_error(client.get("/api/jobs/0123456789abcdef", headers=AUTH), 404, "not_found")


def test_a_build_beside_the_server_is_picked_up(app, client, tmp_path):
    settings = app.extensions["qa"].settings
    write_files(settings.corpus_dir, {"comets.txt": COMETS})
    report = web_service(tmp_path, build=False).build()  # another process's `qa build`, in effect
    health = client.get("/api/health").get_json()
    assert health["index_version"] == report.index_version
    assert health["documents"] == 3


def _errors(client, unready, disabled):
    """(response, status, code) for every error the API gives."""
    long_question = "x" * (MAX_QUESTION_CHARS + 1)
    yield ask(client, None), 400, "invalid_request"
    yield client.post("/api/ask", json={"k": 2}), 400, "invalid_request"
    yield ask(client, ""), 400, "invalid_request"
    yield ask(client, "   \n"), 400, "invalid_request"
    yield ask(client, 42), 400, "invalid_request"
    yield ask(client, ["why?"]), 400, "invalid_request"
    for k in (0, 11, "3", 2.5, True, None):
        yield ask(client, "Why?", k=k), 400, "invalid_request"
    for history in ("earlier", [1], {"a": "b"}, ["ok", None]):
        yield ask(client, "Why?", history=history), 400, "invalid_request"
    yield client.post("/api/ask", data='{"question": ', content_type="application/json"), 400, "invalid_request"
    yield client.post("/api/ask", json=["question"]), 400, "invalid_request"
    yield client.get("/source/owls.txt?start=5"), 400, "bad_request"
    yield client.get("/source/owls.txt?start=a&end=b"), 400, "bad_request"
    yield client.get("/source/owls.txt?start=10&end=5"), 400, "bad_request"
    yield client.get("/source/owls.txt?start=0&end=99999"), 400, "bad_request"
    yield ask(client, long_question), 413, "too_large"
    yield ask(client, "Why?", history=[long_question]), 413, "too_large"
    yield client.post("/api/ask", data="{" + " " * 70_000 + "}", content_type="application/json"), 413, "too_large"
    yield client.post("/api/ask", data='{"question": "Why?"}', content_type="text/plain"), 415, "unsupported_media_type"
    yield client.post("/api/ask", data={"question": "Why?"}), 415, "unsupported_media_type"
    yield client.post("/api/reindex"), 401, "unauthorized"
    yield client.post("/api/reindex", headers={"Authorization": ADMIN_TOKEN}), 401, "unauthorized"
    yield client.post("/api/reindex", headers={"Authorization": "Bearer wrong"}), 403, "forbidden"
    yield client.post("/api/reindex", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"}), 403, "forbidden"
    yield disabled.post("/api/reindex", headers=AUTH), 403, "forbidden"
    yield client.get("/api/nothing-here"), 404, "not_found"
    yield client.get("/nothing-here"), 404, "not_found"
    yield client.get("/api/documents/no-such.txt"), 404, "not_found"
    yield client.get("/source/no-such.txt"), 404, "not_found"
    yield client.get("/static/no-such.js"), 404, "not_found"
    yield client.get("/api/ask"), 405, "method_not_allowed"
    yield client.post("/api/health"), 405, "method_not_allowed"
    yield client.put("/api/documents/owls.txt"), 405, "method_not_allowed"
    yield client.post("/"), 405, "method_not_allowed"
    yield ask(unready, "Why?"), 503, "index_not_found"
    yield unready.get("/api/health"), 503, "index_not_found"
    yield unready.get("/api/documents/owls.txt"), 503, "index_not_found"
    yield unready.get("/source/owls.txt"), 503, "index_not_found"


def test_every_error_is_json_with_the_right_status(client, tmp_path):
    unready = create_app({"QA_SERVICE": web_service(tmp_path / "unready", build=False)}).test_client()
    disabled = create_app({"QA_SERVICE": web_service(tmp_path / "disabled"), "ADMIN_TOKEN": None}).test_client()
    documented = openapi_document("")["paths"]
    seen = set()
    for response, status, code in _errors(client, unready, disabled):
        check_error(response, status, code)
        seen.add(status)
        path = response.request.path
        if path in documented and response.request.method.lower() in documented[path] and status != 405:
            assert str(status) in documented[path][response.request.method.lower()]["responses"], (path, status)
    assert seen == {400, 401, 403, 404, 405, 413, 415, 503}


def test_method_not_allowed_names_the_allowed_methods(client):
    assert "POST" in client.get("/api/ask").headers["Allow"]


def test_unauthorized_asks_for_a_bearer_token(client):
    assert client.post("/api/reindex").headers["WWW-Authenticate"].lower().startswith("bearer")


def test_an_unexpected_failure_is_a_json_500(app, client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.extensions["qa"], "ask", broken)
    response = ask(client, "Why?")
    check_error(response, 500, "internal_server_error")
    assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/health", "/api/openapi.json", "/api/documents/owls.txt"])
def test_api_responses_carry_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"]


# --- reindexing beside live requests ---


class GatedEmbedder(HashEmbedder):
    """Holds the reindex thread inside its embedding step until released, so a test can ask mid-build."""

    def __init__(self) -> None:
        super().__init__()
        self.building = threading.Event()
        self.release = threading.Event()

    def encode(self, texts, batch_size=64, progress=False):
        if threading.current_thread().name.startswith("job-"):
            self.building.set()
            self.release.wait(HANG_GUARD)
        return super().encode(texts, batch_size, progress)


def test_questions_during_a_rebuild_are_answered_from_the_current_index(tmp_path):
    embedder = GatedEmbedder()
    app = create_app({"QA_SERVICE": web_service(tmp_path, embedder), "ADMIN_TOKEN": ADMIN_TOKEN})
    old = app.test_client().get("/api/health").get_json()["index_version"]
    write_files(tmp_path / "corpus", {"comets.txt": COMETS})
    done = {}
    reindex = threading.Thread(
        target=lambda: done.update(response=app.test_client().post("/api/reindex?wait=true", headers=AUTH))
    )
    reindex.start()
    assert embedder.building.wait(HANG_GUARD)
    during = ask(app.test_client(), "How long is green tea brewed?")  # had it waited for the build, it would be new
    embedder.release.set()
    reindex.join()
    assert during.status_code == 200
    assert during.get_json()["index_version"] == old
    new = done["response"].get_json()["job"]["result"]["index_version"]
    assert new != old
    assert ask(app.test_client(), "How long is green tea brewed?").get_json()["index_version"] == new


def test_questions_while_a_new_index_is_read_are_answered_from_the_current_one(app, client, tmp_path, monkeypatch):
    service = app.extensions["qa"]
    old = service.info()["index_version"]
    write_files(service.settings.corpus_dir, {"comets.txt": COMETS})
    new = web_service(tmp_path, build=False).build().index_version
    reading, release = threading.Event(), threading.Event()
    real_open = Retriever.open

    def slow_open(*args):
        reading.set()
        release.wait(HANG_GUARD)
        return real_open(*args)

    monkeypatch.setattr(Retriever, "open", slow_open)
    loader = threading.Thread(target=service.load)
    loader.start()
    assert reading.wait(HANG_GUARD)
    during = ask(client, "How long is green tea brewed?")
    release.set()
    loader.join()
    assert during.get_json()["index_version"] == old
    assert ask(client, "How long is green tea brewed?").get_json()["index_version"] == new


def test_a_reindex_while_questions_are_asked_loses_no_request(app):
    corpus = app.extensions["qa"].settings.corpus_dir
    versions = {app.test_client().get("/api/health").get_json()["index_version"]}
    stop = threading.Event()
    results: list[tuple[int, str]] = []

    def asker() -> None:
        client = app.test_client()
        for _ in range(2000):  # bounded; normally stopped far sooner
            response = ask(client, "How long is green tea brewed?")
            results.append((response.status_code, (response.get_json() or {}).get("index_version")))
            if stop.is_set():
                return

    askers = [threading.Thread(target=asker) for _ in range(3)]
    for t in askers:
        t.start()
    admin = app.test_client()
    for round_ in range(3):
        write_files(corpus, {"comets.txt": COMETS + f"\nRevision {round_} of this note.\n"})
        response = admin.post("/api/reindex?wait=true", headers=AUTH)
        assert response.status_code == 200, response.get_json()
        versions.add(response.get_json()["job"]["result"]["index_version"])
    stop.set()
    for t in askers:
        t.join()
    assert len(versions) == 4
    assert results
    assert {status for status, _ in results} == {200}
    assert {version for _, version in results} <= versions


def test_question_schema_pattern_agrees_with_the_service_on_blank_text():
    import re
    import sys

    from qa.http.openapi import NOT_BLANK

    pattern = re.compile(NOT_BLANK)
    # Every code point: the schema calls a one-character question blank exactly when the service would.
    assert all(bool(pattern.match(chr(c))) != chr(c).isspace() for c in range(sys.maxunicode + 1))


def test_the_app_passes_its_encode_slots_to_the_service_it_makes(tmp_path):
    from qa.config import Settings

    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    limited = create_app({"QA_SETTINGS": settings, "ENCODE_SLOTS": 1, "WARM_UP": False})
    assert limited.extensions["qa"].encode_slots == 1
    assert create_app({"QA_SETTINGS": settings, "WARM_UP": False}).extensions["qa"].encode_slots is None


def test_liveness_answers_while_readiness_waits_for_an_index(tmp_path):
    unready = create_app({"QA_SERVICE": web_service(tmp_path / "unready", build=False)}).test_client()
    live = unready.get("/api/live")
    assert live.status_code == 200 and live.get_json() == {"status": "alive"}
    check_schema(live.get_json(), "Live")
    check_error(unready.get("/api/health"), 503, "index_not_found")
