"""The collection over HTTP: the document list, uploads, deletions, and every bad upload leaving all as it was."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from qa.jobs import JobStore
from tests.helpers import make_pdf, write_files
from tests.web_helpers import ADMIN_TOKEN, COMETS, check_error, check_schema

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def folder_digest(*folders: Path) -> str:
    """One hash of every file's path and bytes below the folders (hidden ones too)."""
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            h.update(str(path).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def upload(client, name, data: bytes, wait=True, headers=AUTH, **form):
    query = "?wait=true" if wait else ""
    return client.post(f"/api/documents{query}", headers=headers, data={"file": (io.BytesIO(data), name), **form})


def ask(client, question, **extra):
    return client.post("/api/ask", json={"question": question, **extra}).get_json()


def test_the_list_names_every_indexed_document_and_the_unreadable_files(app, client):
    write_files(app.extensions["qa"].settings.corpus_dir, {"broken.md": b"\xff\xfe not text"})
    client.post("/api/reindex?wait=true", headers=AUTH)
    listing = client.get("/api/documents").get_json()
    check_schema(listing, "Collection")
    by_id = {d["doc_id"]: d for d in listing["documents"]}
    assert sorted(by_id) == ["owls.txt", "tea/green-tea.md"]
    tea = by_id["tea/green-tea.md"]
    assert tea["title"] == "Green Tea" and tea["format"] == "markdown" and tea["passages"] >= 1
    path = app.extensions["qa"].settings.corpus_dir / "tea/green-tea.md"
    assert tea["bytes"] == path.stat().st_size
    assert tea["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert tea["indexed_at"]
    assert listing["unreadable"] == [{"path": "broken.md", "message": "not valid UTF-8 (byte 0)"}]


def test_an_upload_is_indexed_and_answered_from_and_unchanged_documents_keep_their_indexed_at(client):
    before = {d["doc_id"]: d["indexed_at"] for d in client.get("/api/documents").get_json()["documents"]}
    response = upload(client, "comets.txt", COMETS.encode())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    check_schema(body, "Upload")
    assert body["document"] == {
        "doc_id": "comets.txt",
        "bytes": len(COMETS.encode()),
        "sha256": hashlib.sha256(COMETS.encode()).hexdigest(),
        "replaced": False,
    }
    assert body["job"]["state"] == "done" and body["job"]["result"]["added"] == 1
    assert ask(client, "How often does Halley's Comet return?")["citations"][0]["doc_id"] == "comets.txt"
    after = {d["doc_id"]: d["indexed_at"] for d in client.get("/api/documents").get_json()["documents"]}
    assert {k: after[k] for k in before} == before and "comets.txt" in after


def test_an_upload_answers_202_with_the_job_and_the_file_is_already_in_place(app, client):
    response = upload(client, "comets.txt", COMETS.encode(), wait=False)
    assert response.status_code == 202
    job_id = response.get_json()["job"]["id"]
    assert response.headers["Location"] == f"/api/jobs/{job_id}"
    assert (app.extensions["qa"].settings.corpus_dir / "comets.txt").read_text() == COMETS
    assert app.extensions["qa.jobs"].store.wait(job_id).state == "done"


def test_a_taken_name_needs_replace_and_replace_overwrites(app, client):
    check_error(upload(client, "owls.txt", COMETS.encode()), 409, "document_exists")
    response = upload(client, "owls.txt", COMETS.encode(), replace="true")
    assert response.status_code == 200
    assert response.get_json()["document"]["replaced"] is True
    assert response.get_json()["job"]["result"]["changed"] == 1
    assert ask(client, "How often does Halley's Comet return?")["citations"][0]["doc_id"] == "owls.txt"


def test_names_are_made_safe(app, client):
    response = upload(client, "my comet notes.md", COMETS.encode())
    assert response.get_json()["document"]["doc_id"] == "my_comet_notes.md"
    assert (app.extensions["qa"].settings.corpus_dir / "my_comet_notes.md").exists()


def test_html_and_pdf_uploads_are_read_by_the_ingest_code(client):
    html = b"<html><body><main><h1>Comets</h1><p>Halley's Comet returns every seventy-six years.</p></main></body>"
    assert upload(client, "comets.html", html).status_code == 200
    pdf = make_pdf(["Geysers", "Old Faithful erupts about every ninety minutes in Yellowstone."])
    assert upload(client, "geysers.pdf", pdf).status_code == 200
    assert ask(client, "How often does Old Faithful erupt?")["citations"][0]["doc_id"] == "geysers.pdf"


BAD_UPLOADS = {
    "wrong type": ("notes.exe", b"MZ text", 415, "unsupported_type"),
    "double suffix": ("notes.txt.sh", b"text", 415, "unsupported_type"),
    "no suffix": ("README", b"text", 415, "unsupported_type"),
    "empty": ("empty.txt", b"", 400, "invalid_upload"),
    "not utf-8": ("latin1.txt", "Caf\xe9 au lait".encode("latin-1"), 400, "invalid_upload"),
    "binary": ("binary.md", bytes(range(256)) * 4, 400, "invalid_upload"),
    "blank": ("blank.md", b"   \n\t\n", 400, "invalid_upload"),
    "fake pdf": ("fake.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8, 400, "invalid_upload"),
    "html without text": ("chrome.html", b"<html><body><nav>Menu</nav></body></html>", 400, "invalid_upload"),
    "parent folder": ("../escape.txt", b"text", 400, "invalid_upload"),
    "absolute path": ("/etc/passwd.txt", b"text", 400, "invalid_upload"),
    "windows path": ("..\\escape.txt", b"text", 400, "invalid_upload"),
    "sub folder": ("tea/new.md", b"# New\nSome text here.\n", 400, "invalid_upload"),
    "hidden": (".hidden.txt", b"text", 400, "invalid_upload"),
    "no name": ("", b"text", 400, "invalid_upload"),
    "only unsafe characters": ("???.txt", b"Some text.\n", 400, "invalid_upload"),
    "taken": ("owls.txt", b"Other owls.\n", 409, "document_exists"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_every_bad_upload_is_refused_and_leaves_corpus_and_index_as_they_were(app, client, case):
    settings = app.extensions["qa"].settings
    before = folder_digest(settings.corpus_dir, settings.index_dir)
    name, data, status, code = BAD_UPLOADS[case]
    check_error(upload(client, name, data), status, code)
    assert folder_digest(settings.corpus_dir, settings.index_dir) == before


def test_too_large_bodies_and_wrong_shapes_are_refused(app, client, tmp_path):
    settings = app.extensions["qa"].settings
    before = folder_digest(settings.corpus_dir, settings.index_dir)
    app.extensions["qa"].settings = settings.updated(max_file_mb=0.01)
    big = ("Comets return. " * 2000).encode()  # 30 KB: over 0.01 MB
    check_error(upload(client, "big.txt", big), 413, "too_large")
    app.extensions["qa"].settings = settings
    check_error(client.post("/api/documents", headers=AUTH, json={"file": "x"}), 415, "unsupported_media_type")
    no_file = client.post("/api/documents", headers=AUTH, data={"other": "x"}, content_type="multipart/form-data")
    check_error(no_file, 400, "invalid_upload")
    check_error(upload(client, "c.txt", b"text", headers={}), 401, "unauthorized")
    check_error(upload(client, "c.txt", b"text", headers={"Authorization": "Bearer no"}), 403, "forbidden")
    assert folder_digest(settings.corpus_dir, settings.index_dir) == before


def test_json_bodies_keep_their_64_kib_limit(client):
    body = {"question": "tea?", "history": ["x" * 1000] * 80}  # 80 KB
    check_error(client.post("/api/ask", json=body), 413, "too_large")


def test_a_deletion_removes_the_file_and_the_document(app, client):
    upload(client, "comets.txt", COMETS.encode())
    response = client.delete("/api/documents/comets.txt?wait=true", headers=AUTH)
    assert response.status_code == 200
    check_schema(response.get_json(), "Deletion")
    assert response.get_json()["job"]["result"]["removed"] == 1
    assert not (app.extensions["qa"].settings.corpus_dir / "comets.txt").exists()
    docs = [d["doc_id"] for d in client.get("/api/documents").get_json()["documents"]]
    assert docs == ["owls.txt", "tea/green-tea.md"]
    gone = client.post("/api/ask", json={"question": "Halley?", "doc_ids": ["comets.txt"]})
    check_error(gone, 400, "invalid_request")
    response = client.delete("/api/documents/tea/green-tea.md", headers=AUTH)  # a document in a folder
    assert response.status_code == 202
    assert app.extensions["qa.jobs"].store.wait(response.get_json()["job"]["id"]).result["removed"] == 1


def test_bad_deletions_change_nothing(app, client, tmp_path):
    settings = app.extensions["qa"].settings
    outside = write_files(tmp_path / "outside", {"secret.txt": "keep me"})
    before = folder_digest(settings.corpus_dir, settings.index_dir)
    check_error(client.delete("/api/documents/nope.txt", headers=AUTH), 404, "not_found")
    check_error(client.delete("/api/documents/../outside/secret.txt", headers=AUTH), 404, "not_found")
    check_error(client.delete("/api/documents/owls.txt"), 401, "unauthorized")
    os.remove(settings.corpus_dir / "tea/green-tea.md")
    before = folder_digest(settings.corpus_dir, settings.index_dir)
    check_error(client.delete("/api/documents/owls.txt", headers=AUTH), 409, "last_document")
    assert folder_digest(settings.corpus_dir, settings.index_dir) == before
    assert (outside / "secret.txt").exists()


def test_a_job_whose_process_died_is_reported_lost_and_does_not_hold_the_queue(app, client):
    store: JobStore = app.extensions["qa.jobs"].store
    with store._connect() as conn:  # a job queued by a server process that has since died
        conn.execute(
            "INSERT INTO jobs (id, kind, state, pid, created_at) VALUES ('dead', 'reindex', 'queued', ?, 'x')",
            (2**22 + 12345,),  # above the default pid_max: no such process
        )
    job = client.get("/api/jobs/dead", headers=AUTH).get_json()
    check_schema(job, "Job")
    assert job["state"] == "failed" and job["error"]["code"] == "job_lost"
    fresh = client.post("/api/reindex?wait=true", headers=AUTH).get_json()["job"]
    assert fresh["id"] != "dead" and fresh["state"] == "done"
