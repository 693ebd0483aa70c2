"""A damaged or missing index: a clear error naming the file and the fix, 503 JSON, recovery without a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import cli
from qa.errors import IndexUnusable
from qa.http.app import create_app
from qa.index import format as fmt
from qa.index.store import read_index, read_manifest
from tests.web_helpers import ADMIN_TOKEN, check_error, web_service

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
REBUILD = "qa build --rebuild"
QUESTION = {"question": "How long is green tea brewed?"}


def truncate(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


DAMAGE = {"truncated": truncate, "deleted": Path.unlink, "flipped": flip_a_byte}


@pytest.mark.parametrize("name", [fmt.PASSAGE_VECTORS, fmt.SENTENCE_VECTORS, "dense.faiss", fmt.DOCUMENTS])
def test_a_flipped_byte_is_found_by_its_checksum(service, name):
    path = Path(service.settings.index_dir) / name
    flip_a_byte(path)
    with pytest.raises(IndexUnusable) as err:
        read_index(service.settings.index_dir)
    assert str(path) in str(err.value) and "SHA-256" in str(err.value) and REBUILD in str(err.value)


def test_an_index_without_checksums_is_still_read(service):
    index = Path(service.settings.index_dir)
    manifest = read_manifest(index).to_dict()
    assert set(manifest["sha256"]) == set(manifest["files"])
    del manifest["sha256"]
    (index / fmt.MANIFEST).write_text(json.dumps(manifest))
    assert read_index(index).documents


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_the_server_answers_503_naming_the_file_then_recovers_after_a_reindex(tmp_path, how):
    service = web_service(tmp_path)
    path = Path(service.settings.index_dir) / fmt.PASSAGE_VECTORS
    DAMAGE[how](path)
    client = create_app({"QA_SERVICE": service, "ADMIN_TOKEN": ADMIN_TOKEN, "RATE_LIMIT": 0}).test_client()
    for response in (client.post("/api/ask", json=QUESTION), client.get("/api/health")):
        check_error(response, 503, "index_unusable")
        message = response.get_json()["error"]["message"]
        assert str(path) in message and REBUILD in message
    assert client.post("/api/reindex?wait=true", headers=AUTH).status_code == 200  # the same app: no restart
    assert client.get("/api/health").status_code == 200
    assert client.post("/api/ask", json=QUESTION).get_json()["citations"]


def test_a_build_beside_the_server_repairs_the_index_it_reports(tmp_path):
    service = web_service(tmp_path)
    flip_a_byte(Path(service.settings.index_dir) / fmt.ARRAYS)
    client = create_app({"QA_SERVICE": service, "RATE_LIMIT": 0}).test_client()
    check_error(client.get("/api/health"), 503, "index_unusable")
    report = web_service(tmp_path, build=False).build()  # no --rebuild: the damage alone makes it write
    assert report.wrote_index
    assert client.get("/api/health").status_code == 200


def test_a_missing_manifest_after_a_good_load_is_503_until_reindexed(client):
    index = Path(client.application.extensions["qa"].settings.index_dir)
    assert client.get("/api/health").status_code == 200
    (index / fmt.MANIFEST).unlink()
    response = client.post("/api/ask", json=QUESTION)
    check_error(response, 503, "index_not_found")
    assert REBUILD in response.get_json()["error"]["message"]
    assert client.post("/api/reindex?wait=true", headers=AUTH).status_code == 200
    assert client.post("/api/ask", json=QUESTION).status_code == 200


def test_a_data_file_damaged_after_a_good_load_is_served_from_memory_until_the_next_build(tmp_path):
    # Only an index read into memory (QA_INDEX_MMAP off) outlives damage in place: under a memory map the
    # worker that reads the damaged page dies (SIGBUS) and gunicorn's next worker reports the file.
    service = web_service(tmp_path, index_mmap=False)
    client = create_app({"QA_SERVICE": service, "ADMIN_TOKEN": ADMIN_TOKEN, "RATE_LIMIT": 0}).test_client()
    before = client.post("/api/ask", json=QUESTION).get_json()
    truncate(Path(service.settings.index_dir) / fmt.PASSAGE_VECTORS)
    # The manifest did not change, so the verified index in memory keeps answering, and answers the same.
    assert client.post("/api/ask", json=QUESTION).get_json() == before
    assert (
        client.post("/api/reindex?wait=true", headers=AUTH).get_json()["job"]["result"]["index_version"]
        == before["index_version"]
    )
    assert read_index(service.settings.index_dir).documents  # the build rewrote the damaged file


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_the_cli_names_the_file_and_the_fix(tmp_path, how):
    service = web_service(tmp_path)
    path = Path(service.settings.index_dir) / fmt.SENTENCE_VECTORS
    DAMAGE[how](path)
    env = {"QA_CORPUS_DIR": str(service.settings.corpus_dir), "QA_INDEX_DIR": str(service.settings.index_dir)}
    result = CliRunner().invoke(cli, ["info"], env=env)
    assert result.exit_code == 1
    assert str(path) in result.output and REBUILD in result.output
    assert "Traceback" not in result.output
