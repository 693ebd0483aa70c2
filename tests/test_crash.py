"""kill -9 during a rebuild leaves the old or the new index, whole; two builds at once never corrupt it.

A quick version of bench/reliability/crash.py (the real model, 20 kills): the fake embedder, a few kills.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from click.testing import CliRunner

from bench.reliability.crash import run
from qa.cli import cli
from qa.index.store import build_lock, check_files, read_manifest
from qa.ingest.corpus import list_files
from qa.testing import HashEmbedder
from tests.helpers import make_service

FAKE_BUILD = "import sys; from tests.helpers import make_service; make_service(*sys.argv[1:]).build(rebuild=True)"


def test_kill_9_during_rebuilds_leaves_a_whole_index_that_answers(tmp_path):
    embedder = HashEmbedder()
    report = run(
        tmp_path,
        lambda corpus, index: [sys.executable, "-c", FAKE_BUILD, str(corpus), str(index)],
        lambda index: make_service(tmp_path / "corpus", index, embedder),
        kills=4,
        docs=20,
        seed=3,
    )
    assert report.kills == 4
    assert report.survived == 4, report.crashes  # each time: read whole, and the answer is from that build
    assert report.old + report.new == 4
    assert report.leftovers_after_next_build == 0


def test_a_second_build_stops_with_a_clear_message_while_one_runs(corpus_dir, tmp_path):
    index = tmp_path / "index"
    make_service(corpus_dir, index).build()
    env = {"QA_CORPUS_DIR": str(corpus_dir), "QA_INDEX_DIR": str(index), "QA_LOCK_TIMEOUT": "0"}
    with build_lock(index):
        result = CliRunner().invoke(cli, ["build", "--rebuild"], env=env)
    assert result.exit_code == 1
    assert "another build" in result.output and "wait for it to finish" in result.output
    assert "Traceback" not in result.output
    assert make_service(corpus_dir, index).info()["documents"] == 2  # untouched


# --- kill -9 of a server during an upload and during an index job ---

FAKE_SERVER = """
import sys, threading, time
from qa.http.app import create_app
from qa.testing import HashEmbedder
from tests.helpers import make_service

class SlowBuilds(HashEmbedder):
    def encode(self, texts, batch_size=64, progress=False):
        if threading.current_thread().name.startswith("job-"):
            time.sleep(2)  # a job runs long enough to be killed in the middle
        return super().encode(texts, batch_size, progress)

corpus, index, port = sys.argv[1:]
service = make_service(corpus, index, SlowBuilds())
app = create_app({"QA_SERVICE": service, "ADMIN_TOKEN": "t", "RATE_LIMIT": 0})
app.run(port=int(port), threaded=True)
"""
TOKEN = {"Authorization": "Bearer t"}


def _start_server(corpus, index, log):
    import requests

    from qa.testing import REPO, free_port

    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", FAKE_SERVER, str(corpus), str(index), str(port)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if requests.get(f"{base}/api/health", timeout=5).status_code == 200:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(log.read_text())


def _visible_files(corpus) -> dict[str, bytes]:
    files, _ = list_files(corpus)
    return {p.relative_to(corpus).as_posix(): p.read_bytes() for p in files}


def _index_whole(corpus, index) -> str:
    manifest = read_manifest(index)
    check_files(index, manifest)
    service = make_service(corpus, index)
    assert service.ask("Who invented the Fresnel lens?").citations
    return manifest.index_version


def test_kill_9_during_an_upload_and_during_a_job_leaves_corpus_and_index_whole(corpus_dir, tmp_path):
    import requests

    index, log = tmp_path / "index", tmp_path / "server.log"
    make_service(corpus_dir, index).build()
    before_files, before_version = _visible_files(corpus_dir), _index_whole(corpus_dir, index)

    # During an upload: the body is half sent when the server dies.
    process, base = _start_server(corpus_dir, index, log)
    body = b"--b\r\nContent-Disposition: form-data; name=file; filename=big.txt\r\n\r\n" + b"Tides turn. " * 200_000
    head = f"POST /api/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Length: {len(body) + 8}\r\n"
    head += "Content-Type: multipart/form-data; boundary=b\r\n\r\n"
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as sock:
        sock.sendall(head.encode() + body[: len(body) // 2])
        time.sleep(0.3)
        process.kill()
        process.wait()
    assert _visible_files(corpus_dir) == before_files
    assert _index_whole(corpus_dir, index) == before_version

    # During a job: the upload is in place, whole; the index is the old one, whole; the job is reported lost.
    process, base = _start_server(corpus_dir, index, log)
    tides = "Tides\nThe moon pulls the sea into two bulges.\n"
    response = requests.post(f"{base}/api/documents", headers=TOKEN, files={"file": ("tides.txt", tides)}, timeout=30)
    job_id = response.json()["job"]["id"]
    for _ in range(300):
        if requests.get(f"{base}/api/jobs/{job_id}", headers=TOKEN, timeout=30).json()["state"] == "running":
            break
        time.sleep(0.05)
    time.sleep(0.5)
    process.kill()
    process.wait()
    assert _visible_files(corpus_dir) == {**before_files, "tides.txt": tides.encode()}
    assert _index_whole(corpus_dir, index) == before_version

    process, base = _start_server(corpus_dir, index, log)
    try:
        lost = requests.get(f"{base}/api/jobs/{job_id}", headers=TOKEN, timeout=30).json()
        assert lost["state"] == "failed" and lost["error"]["code"] == "job_lost"
        done = requests.post(f"{base}/api/reindex?wait=true", headers=TOKEN, timeout=120).json()["job"]
        assert done["state"] == "done" and done["result"]["added"] == 1
    finally:
        process.kill()
        process.wait()
    assert _index_whole(corpus_dir, index) != before_version
    assert not list(tmp_path.glob(".index.tmp-*"))
