"""DigestCache: a file's digest is reused while its stat stays put, and recomputed once anything writes it."""

import time

import pytest

import qa.index.digests
from qa.index.digests import DigestCache
from qa.testing import HashEmbedder
from tests.helpers import build


class Counting:
    """A digest function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path):
        self.calls += 1
        return path.read_bytes().hex()


@pytest.fixture
def settled(monkeypatch):
    """Files count as settled at once; the tests sleep past the clock's tick instead of two seconds."""
    monkeypatch.setattr(qa.index.digests, "SETTLE_NS", 0)


def test_a_file_left_alone_is_not_read_again(tmp_path, settled):
    f = tmp_path / "a.txt"
    f.write_bytes(b"one")
    time.sleep(0.05)
    cache, compute = DigestCache(tmp_path / "d.json"), Counting()
    assert cache.digest(f, compute) == cache.digest(f, compute) == b"one".hex()
    assert compute.calls == 1


def test_a_write_of_the_same_size_is_noticed(tmp_path, settled):
    f = tmp_path / "a.txt"
    f.write_bytes(b"one")
    time.sleep(0.05)
    cache, compute = DigestCache(tmp_path / "d.json"), Counting()
    cache.digest(f, compute)
    time.sleep(0.05)  # past the file system clock's tick, which is what SETTLE_NS guards in real use
    with open(f, "r+b") as fh:
        fh.write(b"two")
    assert cache.digest(f, compute) == b"two".hex() and compute.calls == 2


def test_a_recently_changed_file_is_hashed_every_time(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"fresh")
    cache, compute = DigestCache(tmp_path / "d.json"), Counting()
    cache.digest(f, compute)
    cache.digest(f, compute)
    assert compute.calls == 2  # written under two seconds ago: a later write could keep its stat


def test_digests_persist_and_a_garbled_file_is_an_empty_cache(tmp_path, settled):
    f = tmp_path / "a.txt"
    f.write_bytes(b"one")
    time.sleep(0.05)
    store = tmp_path / "d.json"
    first = DigestCache(store)
    first.digest(f, Counting())
    first.save()
    compute = Counting()
    assert DigestCache(store).digest(f, compute) == b"one".hex() and compute.calls == 0
    store.write_text("{not json")
    compute = Counting()
    assert DigestCache(store).digest(f, compute) == b"one".hex() and compute.calls == 1
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_a_no_change_build_with_remembered_digests_reads_no_file(corpus_dir, tmp_path, settled, monkeypatch):
    index = tmp_path / "index"
    build(corpus_dir, index, HashEmbedder())
    time.sleep(0.05)
    build(corpus_dir, index, HashEmbedder())  # hashes everything once and remembers it
    counted = Counting()
    monkeypatch.setattr("qa.index.build.file_sha256", counted)
    monkeypatch.setattr("qa.index.store.file_sha256", counted)
    report = build(corpus_dir, index, HashEmbedder())
    assert not report.wrote_index and report.unchanged == 2 and counted.calls == 0
    # A damaged index file is still caught: writing it moves its stat, so it is hashed again and rebuilt.
    vectors = index / "passage_vectors.npy"
    time.sleep(0.05)
    with open(vectors, "r+b") as fh:
        fh.seek(-1, 2)
        last = fh.read(1)
        fh.seek(-1, 2)
        fh.write(bytes([last[0] ^ 0xFF]))
    monkeypatch.undo()
    monkeypatch.setattr(qa.index.digests, "SETTLE_NS", 0)
    assert build(corpus_dir, index, HashEmbedder()).wrote_index
    # So is a changed document, even one whose size stays the same.
    time.sleep(0.05)
    doc = next(p for p in sorted(corpus_dir.rglob("*")) if p.is_file())
    text = doc.read_bytes()
    doc.write_bytes(text[:-1] + (b"X" if text[-1:] != b"X" else b"Y"))
    assert build(corpus_dir, index, HashEmbedder()).changed == 1
