"""The saved index: manifest, atomic writes, damage detection, the build lock and recovery."""

import json
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from qa.errors import BuildLocked, IndexNotFound, IndexUnusable
from qa.index import format as fmt
from qa.index import store
from qa.index.store import build_lock, read_index, read_manifest, recover, write_index
from qa.ingest.corpus import sha256_bytes
from qa.text.passages import DEFAULT_MAX_CHARS, DEFAULT_OVERLAP

REBUILD = "qa build --rebuild"


def leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.parent.iterdir() if p.name.startswith(f".{index_dir.name}.") and p.is_dir())


@pytest.fixture
def index_dir(service) -> Path:
    return Path(service.settings.index_dir)


def test_manifest_describes_the_index(service, index_dir, corpus_dir):
    m = read_manifest(index_dir)
    data = read_index(index_dir)
    assert m.format_version == fmt.FORMAT_VERSION
    assert m.model["name"] == "hash-256" and m.model["dimension"] == 256
    assert m.model["fingerprint"] == service.embedder.fingerprint
    assert m.chunking == {"max_chars": DEFAULT_MAX_CHARS, "overlap": DEFAULT_OVERLAP, "sentences": "nltk-punkt"}
    assert set(m.documents) == {"lighthouse.txt", "bees/honey-bees.md"}
    for doc_id, entry in m.documents.items():
        assert entry["sha256"] == sha256_bytes((corpus_dir / doc_id).read_bytes())
    assert m.counts == {
        "documents": 2,
        "passages": len(data.passage_vectors),
        "sentences": len(data.sentence_vectors),
    }
    assert sum(e["passages"] for e in m.documents.values()) == m.counts["passages"]
    assert datetime.fromisoformat(m.built_at).tzinfo is not None
    assert len(m.index_version) == 12 and data.index_version == m.index_version
    assert m.dense_index == "flat"
    assert m.files == {
        p.relative_to(index_dir).as_posix(): p.stat().st_size
        for p in index_dir.rglob("*")
        if p.is_file() and p.name != fmt.MANIFEST
    }


def test_write_and_read_round_trip(index_dir, tmp_path):
    data = read_index(index_dir)
    copy = tmp_path / "copy"
    write_index(data, copy)
    again = read_index(copy)
    assert again.documents == data.documents and again.sections == data.sections and again.punkt == data.punkt
    assert all(np.array_equal(getattr(again.arrays, k), getattr(data.arrays, k)) for k in fmt.ARRAY_NAMES)
    assert np.array_equal(again.passage_vectors, data.passage_vectors)
    assert np.array_equal(again.sentence_vectors, data.sentence_vectors)


def test_failed_write_leaves_the_old_index_and_no_temp_folder(index_dir):
    before = {p.relative_to(index_dir): p.read_bytes() for p in index_dir.rglob("*") if p.is_file()}
    data = read_index(index_dir)
    data.manifest = replace(data.manifest, index_version="new-version")
    data.documents = [replace(d, title="changed") for d in data.documents]

    def failing_saver(path: Path) -> None:
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_index(data, index_dir, {"dense.faiss": failing_saver})
    after = {p.relative_to(index_dir): p.read_bytes() for p in index_dir.rglob("*") if p.is_file()}
    assert after == before
    assert read_manifest(index_dir).index_version != "new-version"
    assert leftovers(index_dir) == []


def test_vectors_filled_in_place_become_the_index_files(index_dir, tmp_path):
    data = read_index(index_dir)
    target = tmp_path / "in-place"
    with store.IndexWriter(target) as writer:
        p_out = writer.vectors(fmt.PASSAGE_VECTORS, *data.passage_vectors.shape)
        s_out = writer.vectors(fmt.SENTENCE_VECTORS, *data.sentence_vectors.shape)
        assert not target.exists()  # filled beside the index, which appears only at commit
        p_out[:] = data.passage_vectors
        s_out[:] = data.sentence_vectors
        data.passage_vectors, data.sentence_vectors = p_out, s_out
        writer.commit(data)
    again = read_index(target)  # every file's size and SHA-256 checked, the vector files included
    assert np.array_equal(again.passage_vectors, read_index(index_dir).passage_vectors)
    assert np.array_equal(again.sentence_vectors, read_index(index_dir).sentence_vectors)
    assert leftovers(target) == []


def test_a_writer_left_without_commit_leaves_the_index_and_no_temp_folder(index_dir):
    data = read_index(index_dir)
    version = data.index_version
    with pytest.raises(RuntimeError, match="model failed"), store.IndexWriter(index_dir) as writer:
        writer.vectors(fmt.PASSAGE_VECTORS, 3, 4)
        assert len(leftovers(index_dir)) == 1
        raise RuntimeError("model failed")
    assert leftovers(index_dir) == []
    assert read_index(index_dir).index_version == version


def test_commit_refuses_data_that_does_not_hold_the_mapped_vectors(index_dir):
    data = read_index(index_dir)
    with store.IndexWriter(index_dir) as writer:
        writer.vectors(fmt.PASSAGE_VECTORS, *data.passage_vectors.shape)
        with pytest.raises(ValueError, match="mapped"):
            writer.commit(data)
    assert leftovers(index_dir) == []
    assert read_index(index_dir).index_version == data.index_version


def test_second_write_replaces_the_index_whole(index_dir):
    data = read_index(index_dir)
    data.manifest = replace(data.manifest, index_version="second")
    write_index(data, index_dir)
    assert read_manifest(index_dir).index_version == "second"
    assert not (index_dir / "dense.faiss").exists()  # files of the old index do not linger
    assert leftovers(index_dir) == []


@pytest.mark.parametrize("name", [fmt.PASSAGE_VECTORS, fmt.DOCUMENTS, fmt.ARRAYS, "dense.faiss", "bm25"])
def test_truncated_or_deleted_file_is_named_with_the_rebuild_hint(index_dir, name):
    path = index_dir / name
    if path.is_dir():
        path = next(p for p in sorted(path.iterdir()) if p.stat().st_size > 0)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(IndexUnusable) as err:
        read_index(index_dir)
    assert str(path) in str(err.value) and "damaged" in str(err.value) and REBUILD in str(err.value)
    path.unlink()
    with pytest.raises(IndexUnusable) as err:
        read_index(index_dir)
    assert str(path) in str(err.value) and "missing" in str(err.value) and REBUILD in str(err.value)


def test_same_size_garbage_is_named_with_the_rebuild_hint(index_dir):
    path = index_dir / fmt.ARRAYS
    path.write_bytes(b"\0" * path.stat().st_size)
    with pytest.raises(IndexUnusable, match=REBUILD) as err:
        read_index(index_dir)
    assert str(path) in str(err.value)


def test_other_format_version_is_refused(index_dir):
    manifest = json.loads((index_dir / fmt.MANIFEST).read_text())
    manifest["format_version"] = 99
    (index_dir / fmt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexUnusable, match=r"format 99.*reads format 1.*qa build --rebuild"):
        read_manifest(index_dir)


def test_damaged_manifest_is_refused(index_dir):
    (index_dir / fmt.MANIFEST).write_text('{"format_version": 1,')
    with pytest.raises(IndexUnusable, match=REBUILD) as err:
        read_index(index_dir)
    assert str(index_dir / fmt.MANIFEST) in str(err.value)


def test_missing_index_or_manifest_is_index_not_found(tmp_path):
    with pytest.raises(IndexNotFound, match="run `qa build`"):
        read_index(tmp_path / "none")
    (tmp_path / "half").mkdir()
    with pytest.raises(IndexNotFound, match=r"manifest.json missing.*qa build --rebuild"):
        read_index(tmp_path / "half")


# --- the build lock ----------------------------------------------------------------------------------------------


def test_second_build_lock_fails_without_waiting(tmp_path):
    index = tmp_path / "index"
    with build_lock(index):
        with pytest.raises(BuildLocked, match="another build") as err, build_lock(index, timeout=0):
            pass
        assert str(index) in str(err.value)
    with build_lock(index, timeout=0):  # released again
        pass


def test_second_build_lock_waits_for_the_first(tmp_path):
    index = tmp_path / "index"
    holding, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with build_lock(index):
            holding.set()
            release.wait(30)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(30)
    waited: list[bool] = []

    def on_wait() -> None:
        waited.append(True)
        release.set()  # the first build finishes while the second waits

    with build_lock(index, timeout=60, on_wait=on_wait):
        order.append("second holds")
    thread.join(30)
    assert waited == [True]
    assert order == ["first done", "second holds"]


# --- recovery ----------------------------------------------------------------------------------------------------


def test_recover_finishes_an_interrupted_swap_and_removes_temp_folders(index_dir):
    old = index_dir.with_name(f".{index_dir.name}.old-12345")
    index_dir.rename(old)  # crash after moving the old index away, before the new one arrived
    tmp = index_dir.with_name(f".{index_dir.name}.tmp-abc")
    tmp.mkdir()
    (tmp / "partial").write_bytes(b"x")
    recover(index_dir)
    assert read_index(index_dir).documents
    assert leftovers(index_dir) == []


def test_recover_keeps_a_complete_index(index_dir):
    version = read_manifest(index_dir).index_version
    stale = index_dir.with_name(f".{index_dir.name}.old-1")
    stale.mkdir()
    recover(index_dir)
    assert read_manifest(index_dir).index_version == version
    assert leftovers(index_dir) == []
