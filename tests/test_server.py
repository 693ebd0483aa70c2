"""The real server (`qa serve`, real model) on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from qa.testing import ADMIN_TOKEN, qa_build, serving
from tests.helpers import real_site, write_files
from tests.web_helpers import COMETS, check_schema

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
QUESTION = "What is hemifacial spasm?"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return real_site(tmp_path_factory, "dev-server")


@pytest.fixture(scope="module")
def base(site, tmp_path_factory):
    corpus, index = site
    with serving(corpus, index, tmp_path_factory.mktemp("logs") / "serve.log") as url:
        yield url


def error_of(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    check_schema(body, "Error")
    return body["error"]["code"]


def test_the_server_answers_with_exact_citations(base):
    health = requests.get(f"{base}/api/health", timeout=60).json()
    check_schema(health, "Health")
    assert health["model"] == "all-MiniLM-L6-v2"
    response = requests.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=60)
    assert response.status_code == 200
    answer = response.json()
    check_schema(answer, "Answer")
    assert not answer["abstained"]
    assert "involuntary" in " ".join(c["quote"] for c in answer["citations"])
    for c in answer["citations"]:
        text = requests.get(f"{base}/api/documents/{c['doc_id']}", timeout=60).json()["text"]
        assert text[c["start"] : c["end"]] == c["quote"]
        source = requests.get(f"{base}/source/{c['doc_id']}", params={"start": c["start"], "end": c["end"]}, timeout=60)
        assert source.status_code == 200 and '<mark id="cited"' in source.text


def test_the_server_declines_out_of_scope_questions(base):
    answer = requests.post(f"{base}/api/ask", json={"question": "Who won the 1998 football World Cup?"}, timeout=60)
    assert answer.json()["abstained"] is True


def test_the_chat_page_is_served_with_its_headers(base):
    response = requests.get(base, timeout=60)
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(f"{base}/static/chat.js", timeout=60).status_code == 200


def test_errors_over_http_are_json(base):
    post = lambda path, **kw: requests.post(f"{base}{path}", timeout=60, **kw)
    assert error_of(post("/api/ask", data="{", headers={"Content-Type": "application/json"}), 400) == "invalid_request"
    assert error_of(post("/api/ask", json={"question": "x" * 2001}), 413) == "too_large"
    big = '{"question": "' + "x" * 70_000 + '"}'
    assert error_of(post("/api/ask", data=big, headers={"Content-Type": "application/json"}), 413) == "too_large"
    assert error_of(post("/api/ask", data="question", headers={"Content-Type": "text/plain"}), 415)
    assert error_of(post("/api/reindex"), 401) == "unauthorized"
    assert error_of(post("/api/reindex", headers={"Authorization": "Bearer nope"}), 403) == "forbidden"
    assert error_of(requests.get(f"{base}/api/ask", timeout=60), 405) == "method_not_allowed"
    assert error_of(requests.get(f"{base}/source/../../etc/passwd", timeout=60), 404) == "not_found"


def test_a_reindex_while_questions_are_asked_loses_no_request(site, base):
    corpus, _ = site
    old = requests.get(f"{base}/api/health", timeout=60).json()["index_version"]
    stop = threading.Event()
    results: list[tuple[int, str]] = []

    def asker() -> None:
        with requests.Session() as session:
            for _ in range(500):  # bounded; normally stopped far sooner
                response = session.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=120)
                results.append((response.status_code, response.json().get("index_version")))
                if stop.is_set():
                    return

    askers = [threading.Thread(target=asker) for _ in range(2)]
    for t in askers:
        t.start()
    write_files(corpus, {"comets.txt": COMETS})
    response = requests.post(f"{base}/api/reindex?wait=true", headers=AUTH, timeout=600)
    stop.set()
    for t in askers:
        t.join()
    assert response.status_code == 200, response.text
    report = response.json()["job"]["result"]
    assert report["added"] == 1 and report["index_version"] != old
    assert results and {status for status, _ in results} == {200}
    assert {version for _, version in results} <= {old, report["index_version"]}
    answer = requests.post(f"{base}/api/ask", json={"question": "How often does Halley's Comet return?"}, timeout=60)
    assert answer.json()["citations"][0]["doc_id"] == "comets.txt"


def test_gunicorn_workers_pick_up_a_build_run_beside_them(tmp_path_factory):
    corpus, index = real_site(tmp_path_factory, "gunicorn")
    log = tmp_path_factory.mktemp("logs") / "gunicorn.log"
    with serving(corpus, index, log, "--workers", "2") as url:
        before = requests.get(f"{url}/api/health", timeout=60).json()
        write_files(corpus, {"comets.txt": COMETS})
        qa_build(corpus, index)
        with requests.Session() as session:
            # Whichever worker answers, each must now be on the new index.
            healths = [session.get(f"{url}/api/health", timeout=60).json() for _ in range(8)]
            answer = session.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=60)
    assert {h["documents"] for h in healths} == {before["documents"] + 1}
    assert len({h["index_version"] for h in healths} | {before["index_version"]}) == 2
    assert answer.status_code == 200 and not answer.json()["abstained"]
    # Each response closes its connection, so the next request goes to whichever worker is free.
    assert answer.headers["Connection"].lower() == "close"
    assert "Booting worker" in log.read_text()


def _ask_new_index(base: str, body: dict, version: str) -> dict:
    """An answer from the index of `version`: a request that comes while its worker's other thread reads the new
    index is answered from the one before (by design: nobody waits for a reload), so it is asked again."""
    for _ in range(100):
        answer = requests.post(f"{base}/api/ask", json=body, timeout=60).json()
        if answer["index_version"] == version:
            return answer
        time.sleep(0.1)
    raise AssertionError(f"still answered from index {answer['index_version']}, not {version}")


def test_upload_ask_delete_and_ask_again_while_questions_go_on_across_workers(tmp_path_factory):
    corpus, index = real_site(tmp_path_factory, "collection-server")
    log = tmp_path_factory.mktemp("logs") / "collection.log"
    comet_question = {"question": "How often does Halley's Comet return?"}
    with serving(corpus, index, log, "--workers", "2") as base:
        stop = threading.Event()
        statuses: list[int] = []

        def asker() -> None:
            with requests.Session() as session:
                for _ in range(500):  # bounded; normally stopped far sooner
                    statuses.append(
                        session.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=120).status_code
                    )
                    if stop.is_set():
                        return

        askers = [threading.Thread(target=asker) for _ in range(2)]
        for t in askers:
            t.start()
        try:
            upload = requests.post(
                f"{base}/api/documents", headers=AUTH, files={"file": ("comets.txt", COMETS)}, timeout=60
            )
            assert upload.status_code == 202, upload.text
            job_url = base + upload.headers["Location"]
            for _ in range(1200):  # each poll may reach either worker: the job's state is shared
                job = requests.get(job_url, headers=AUTH, timeout=60).json()
                if job["state"] in ("done", "failed"):
                    break
                time.sleep(0.25)
            check_schema(job, "Job")
            assert job["state"] == "done" and job["result"]["added"] == 1, job
            for _ in range(4):  # both workers answer from the new index
                answer = _ask_new_index(base, comet_question, job["result"]["index_version"])
                assert answer["citations"][0]["doc_id"] == "comets.txt"
            deleted = requests.delete(f"{base}/api/documents/comets.txt?wait=true", headers=AUTH, timeout=600)
            assert deleted.status_code == 200 and deleted.json()["job"]["result"]["removed"] == 1
            for _ in range(4):
                answer = _ask_new_index(base, comet_question, deleted.json()["job"]["result"]["index_version"])
                assert all(c["doc_id"] != "comets.txt" for c in answer["citations"])
                only = requests.post(f"{base}/api/ask", json={**comet_question, "doc_ids": ["comets.txt"]}, timeout=60)
                assert only.status_code == 400 or only.json()["index_version"] != answer["index_version"]
        finally:
            stop.set()
            for t in askers:
                t.join()
        assert statuses and set(statuses) == {200}


def test_a_file_damaged_in_place_under_the_mapped_index_costs_one_worker_then_names_the_file(tmp_path_factory):
    corpus, index = real_site(tmp_path_factory, "sigbus")
    log = tmp_path_factory.mktemp("logs") / "sigbus.log"
    damaged = index / "sentence_vectors.npy"
    with serving(corpus, index, log, "--workers", "1") as url:
        assert requests.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=60).status_code == 200
        with open(damaged, "r+b") as fh:
            fh.truncate(0)  # the mapped pages are gone: the next read of them is SIGBUS
        statuses = []
        for _ in range(120):  # the master starts a new worker; it loads the model, then checks the index
            try:
                response = requests.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=60)
                statuses.append(response.status_code)
                if response.status_code == 503:
                    break
            except requests.ConnectionError:
                statuses.append("reset")
            time.sleep(0.5)
        assert statuses[-1] == 503 and 200 not in statuses, statuses
        assert error_of(response, 503) == "index_unusable" and str(damaged) in response.json()["error"]["message"]
        qa_build(corpus, index)
        assert requests.post(f"{url}/api/ask", json={"question": QUESTION}, timeout=60).status_code == 200
    assert "SIGBUS" in log.read_text() or "signal 7" in log.read_text()
