"""Incremental builds: only changed documents are embedded, problems are reported, empty corpora refused."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from qa.errors import BuildLocked, CorpusError
from qa.index.content import lexical_text, passage_embedding_text, titled_documents
from qa.index.format import ARRAY_NAMES
from qa.index.store import build_lock, read_index, read_manifest
from qa.testing import HashEmbedder
from tests.helpers import BEES, NEW_DOC, build, make_service, write_files


def files_of(index: Path) -> dict[Path, bytes]:
    """Every file of an index folder and its bytes."""
    return {p.relative_to(index): p.read_bytes() for p in index.rglob("*") if p.is_file()}


def counts(report) -> tuple[int, int, int, int]:
    return report.added, report.changed, report.removed, report.unchanged


def embedded_texts(index: Path, doc_id: str) -> int:
    entry = read_manifest(index).documents[doc_id]
    return entry["passages"] + entry["sentences"]


def test_first_build_embeds_everything(corpus_dir, tmp_path):
    e = HashEmbedder()
    report = build(corpus_dir, tmp_path / "index", e)
    assert counts(report) == (2, 0, 0, 0)
    assert report.wrote_index and report.documents == 2
    assert report.embedded == e.texts_encoded > 0
    assert report.passages > 0 and report.sentences > report.passages // 2
    assert report.problems == []


def test_no_change_build_neither_writes_nor_embeds(corpus_dir, tmp_path):
    index = tmp_path / "index"
    first = build(corpus_dir, index, HashEmbedder())
    manifest_bytes = (index / "manifest.json").read_bytes()
    e = HashEmbedder()
    report = build(corpus_dir, index, e)
    assert counts(report) == (0, 0, 0, 2)
    assert not report.wrote_index and report.embedded == 0 and e.calls == 0
    assert report.index_version == first.index_version
    assert (report.documents, report.passages, report.sentences) == (first.documents, first.passages, first.sentences)
    assert (index / "manifest.json").read_bytes() == manifest_bytes


def test_a_file_that_is_not_a_document_does_not_make_every_build_rewrite_the_index(corpus_dir, tmp_path):
    (corpus_dir / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    service = make_service(corpus_dir, tmp_path / "index")
    first = service.build()
    again = service.build()
    assert first.wrote_index and not again.wrote_index and counts(again) == (0, 0, 0, 2)
    for report in (first, again):
        assert [(p.path, "binary" in p.message) for p in report.problems] == [("binary.txt", True)]
    (corpus_dir / "binary.txt").write_text("Lighthouse keepers polish the brass every morning.")
    fixed = service.build()  # once it reads as a document it is indexed, its problem gone
    assert fixed.wrote_index and fixed.documents == 3 and fixed.problems == []


def test_a_no_change_build_still_reports_the_files_it_skips(corpus_dir, tmp_path):
    (corpus_dir / "huge.txt").write_text("A very long document. " * 60_000)  # about 1.3 MB
    service = make_service(corpus_dir, tmp_path / "index", max_file_mb=1)
    first = service.build()
    again = service.build()
    assert not again.wrote_index and counts(again) == (0, 0, 0, 2)
    for report in (first, again):
        assert [(p.path, "QA_MAX_FILE_MB" in p.message) for p in report.problems] == [("huge.txt", True)]


# Imported only when there is work to do: together they took about 1.3 s of a 1.4 s no-change `qa build`.
HEAVY_MODULES = ("nltk", "faiss", "bm25s", "torch", "sentence_transformers", "scipy", "sklearn")
NO_CHANGE_BUILD = """
import json, sys
from pathlib import Path
import qa.cli
from qa.config import Settings
from qa.testing import HashEmbedder
from qa.index.format import ARRAY_NAMES
from qa.service import QAService
report = QAService(Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2])), HashEmbedder()).build()
print(json.dumps({"wrote": report.wrote_index, "modules": sorted(m.split(".")[0] for m in sys.modules)}))
"""


def test_a_no_change_build_in_a_new_process_imports_no_heavy_library(corpus_dir, tmp_path):
    index = tmp_path / "index"
    build(corpus_dir, index, HashEmbedder())
    out = subprocess.run(
        [sys.executable, "-c", NO_CHANGE_BUILD, str(corpus_dir), str(index)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert result["wrote"] is False
    assert set(HEAVY_MODULES).isdisjoint(result["modules"])


def test_only_the_changed_document_is_embedded(corpus_dir, tmp_path):
    index = tmp_path / "index"
    first = build(corpus_dir, index, HashEmbedder())
    (corpus_dir / "bees/honey-bees.md").write_text(BEES + "\nDrones do not sting, and they die after mating.\n")
    e = HashEmbedder()
    report = build(corpus_dir, index, e)
    assert counts(report) == (0, 1, 0, 1)
    assert report.wrote_index and report.index_version != first.index_version
    # Only texts of the changed document that were not already embedded reach the model.
    assert 0 < e.texts_encoded == report.embedded < embedded_texts(index, "bees/honey-bees.md")
    assert e.calls == 1


def test_added_and_removed_documents(corpus_dir, tmp_path):
    index = tmp_path / "index"
    build(corpus_dir, index, HashEmbedder())
    (corpus_dir / "lighthouse.txt").unlink()
    (corpus_dir / "tides.txt").write_text(NEW_DOC)
    e = HashEmbedder()
    report = build(corpus_dir, index, e)
    assert counts(report) == (1, 0, 1, 1)
    assert e.texts_encoded == embedded_texts(index, "tides.txt")
    data = read_index(index)
    assert [d.doc_id for d in data.documents] == ["bees/honey-bees.md", "tides.txt"]
    assert all("Fresnel" not in d.text for d in data.documents)


def test_rebuild_processes_everything_and_reuses_nothing(corpus_dir, tmp_path):
    index = tmp_path / "index"
    build(corpus_dir, index, HashEmbedder())
    e = HashEmbedder()
    report = build(corpus_dir, index, e, rebuild=True)
    assert report.wrote_index
    assert (
        report.embedded
        == e.texts_encoded
        == embedded_texts(index, "lighthouse.txt") + embedded_texts(index, "bees/honey-bees.md")
    )


def test_incremental_index_equals_a_fresh_one(corpus_dir, tmp_path):
    index = tmp_path / "index"
    build(corpus_dir, index, HashEmbedder())
    (corpus_dir / "tides.txt").write_text(NEW_DOC)
    incremental = build(corpus_dir, index, HashEmbedder())
    fresh = build(corpus_dir, tmp_path / "fresh", HashEmbedder())
    assert incremental.index_version == fresh.index_version
    a, b = read_index(index), read_index(tmp_path / "fresh")
    assert a.documents == b.documents and a.sections == b.sections
    assert all((getattr(a.arrays, k) == getattr(b.arrays, k)).all() for k in ARRAY_NAMES)
    assert (a.passage_vectors == b.passage_vectors).all() and (a.sentence_vectors == b.sentence_vectors).all()


def test_changed_chunking_rechunks_all_without_re_embedding_known_texts(corpus_dir, tmp_path):
    index = tmp_path / "index"
    build(corpus_dir, index, HashEmbedder())
    e = HashEmbedder()
    report = make_service(corpus_dir, index, e, max_chars=60).build()
    assert report.wrote_index
    assert read_manifest(index).chunking["max_chars"] == 60
    sentences = read_manifest(index).counts["sentences"]
    assert e.texts_encoded == report.embedded < report.passages + sentences  # sentences come from the cache


def test_other_model_re_embeds_everything(corpus_dir, tmp_path):
    index = tmp_path / "index"
    build(corpus_dir, index, HashEmbedder())
    e = HashEmbedder(dimension=64)
    report = build(corpus_dir, index, e)
    assert report.embedded == e.texts_encoded == report.passages + report.sentences
    assert read_manifest(index).model["dimension"] == 64


def test_bad_files_are_reported_and_skipped(corpus_dir, tmp_path):
    (corpus_dir / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (corpus_dir / "empty.md").write_bytes(b"")
    (corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4 nothing")
    (corpus_dir / "binary.txt").write_bytes(b"\x00\x01\x02")
    outside = write_files(tmp_path / "outside", {"secret.txt": "Secret words live here."})
    (corpus_dir / "escape.txt").symlink_to(outside / "secret.txt")
    (corpus_dir / "dangling.txt").symlink_to(corpus_dir / "deleted.txt")
    report = build(corpus_dir, tmp_path / "index", HashEmbedder())
    assert sorted(p.path for p in report.problems) == [
        "binary.txt",
        "broken.pdf",
        "dangling.txt",
        "empty.md",
        "escape.txt",
        "latin1.txt",
    ]
    assert report.documents == 2
    assert set(read_manifest(tmp_path / "index").documents) == {"lighthouse.txt", "bees/honey-bees.md"}


def test_a_bad_file_is_reported_again_on_a_no_change_build(corpus_dir, tmp_path):
    (corpus_dir / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    build(corpus_dir, tmp_path / "index", HashEmbedder())
    report = build(corpus_dir, tmp_path / "index", HashEmbedder())
    assert [p.path for p in report.problems] == ["latin1.txt"]


def test_empty_corpus_is_a_clear_corpus_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match=r"no documents in .*empty: add \.txt, \.md, \.html or \.pdf files"):
        build(empty, tmp_path / "index", HashEmbedder())
    assert not (tmp_path / "index").exists()


def test_corpus_of_only_bad_files_is_a_clear_corpus_error(tmp_path):
    corpus_dir = write_files(tmp_path / "c", {"empty.txt": b"", "bad.txt": b"\xff\xfe\x00"})
    with pytest.raises(CorpusError, match=r"no readable documents .*2 file\(s\) skipped"):
        build(corpus_dir, tmp_path / "index", HashEmbedder())


def test_missing_corpus_folder_is_a_corpus_error(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder not found"):
        build(tmp_path / "missing", tmp_path / "index", HashEmbedder())


def test_concurrent_build_fails_with_build_locked(corpus_dir, tmp_path):
    index = tmp_path / "index"
    with build_lock(index), pytest.raises(BuildLocked):
        make_service(corpus_dir, index, lock_timeout=0).build()
    assert build(corpus_dir, index, HashEmbedder()).wrote_index


def test_concurrent_build_waits_for_the_running_one(corpus_dir, tmp_path):
    index = tmp_path / "index"
    first_embedding, release = threading.Event(), threading.Event()

    class SlowEmbedder(HashEmbedder):
        def encode(self, texts, batch_size=64, progress=False):
            first_embedding.set()
            release.wait(30)
            return super().encode(texts, batch_size, progress)

    results: dict[str, object] = {}
    thread = threading.Thread(target=lambda: results.update(first=build(corpus_dir, index, SlowEmbedder())))
    thread.start()
    assert first_embedding.wait(30)
    waited: list[bool] = []

    def on_wait() -> None:
        waited.append(True)
        release.set()

    second = make_service(corpus_dir, index, HashEmbedder()).build(on_wait=on_wait)
    thread.join(30)
    assert waited == [True]
    assert results["first"].wrote_index
    assert counts(second) == (0, 0, 0, 2) and not second.wrote_index  # it saw the first build's index


def test_passage_embedding_text_prefixes_the_section_unless_it_is_the_title():
    assert passage_embedding_text("Doc", "Causes", "Text.") == "Causes: Text."
    assert passage_embedding_text("Doc", "Doc", "Text.") == "Text."
    assert passage_embedding_text("Doc", None, "Text.") == "Text."


def test_titles_go_on_passages_only_where_they_tell_documents_apart(tmp_path):
    long_doc = "Lighthouses\n\n" + "\n".join(f"Keeper number {i} trimmed the wick at dusk." * 3 for i in range(12))
    files = {"long.txt": long_doc, "short.txt": "Bees\n\nBees make honey from nectar."}
    service = make_service(write_files(tmp_path / "c", files), tmp_path / "i")
    service.build()
    data = read_index(tmp_path / "i")
    titled = titled_documents(data)
    by_id = {d.doc_id: i for i, d in enumerate(data.documents)}
    # The long document holds most passages: its title on all of them would erase "lighthouses" from BM25.
    assert not titled[by_id["long.txt"]] and titled[by_id["short.txt"]]
    last_long = int((data.arrays.p_doc == by_id["long.txt"]).nonzero()[0][-1])
    assert not lexical_text(data, last_long, titled).startswith("Lighthouses")


def test_a_build_embeds_in_batches_and_gives_the_same_index(corpus_dir, tmp_path, monkeypatch):
    whole = HashEmbedder()
    build(corpus_dir, tmp_path / "whole", whole)
    assert whole.calls == 1
    monkeypatch.setattr("qa.index.vectors.EMBED_BATCH", 5)
    batched = HashEmbedder()
    report = build(corpus_dir, tmp_path / "batched", batched)
    assert batched.calls == -(-report.embedded // 5) > 1 and batched.texts_encoded == report.embedded
    a, b = read_index(tmp_path / "whole"), read_index(tmp_path / "batched")
    assert np.array_equal(a.passage_vectors, b.passage_vectors)
    assert np.array_equal(a.sentence_vectors, b.sentence_vectors)
    assert a.index_version == b.index_version


class FailsOnSecondBatch(HashEmbedder):
    """A model that runs out of memory on its second batch."""

    def encode(self, texts, batch_size=64, progress=False):
        if self.calls == 1:
            raise RuntimeError("out of memory")
        return super().encode(texts, batch_size, progress)


def _fail_writing(*args):
    raise OSError("no space left on device")


@pytest.mark.parametrize("where", ["embedding", "writing bm25"])
def test_a_build_that_fails_midway_leaves_the_old_index_and_no_temp_folder(corpus_dir, tmp_path, monkeypatch, where):
    index = tmp_path / "index"
    first = build(corpus_dir, index, HashEmbedder())
    before = files_of(index)
    (corpus_dir / "tides.txt").write_text(NEW_DOC * 3)
    if where == "embedding":
        monkeypatch.setattr("qa.index.vectors.EMBED_BATCH", 2)
        embedder, error = FailsOnSecondBatch(), "out of memory"
    else:  # after the spill files and bm25s's small files are written
        monkeypatch.setattr("qa.index.lexical.SPILL_ENTRIES", 2)
        monkeypatch.setattr("qa.index.lexical.BM25Builder._place", _fail_writing)
        embedder, error = HashEmbedder(), "no space"
    with pytest.raises((RuntimeError, OSError), match=error):
        build(corpus_dir, index, embedder, rebuild=True)
    assert files_of(index) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".index.") and p.is_dir()) == []
    assert read_index(index).index_version == first.index_version


def test_the_bm25_folder_is_written_through_spill_files_that_are_gone_before_the_manifest(
    corpus_dir, tmp_path, monkeypatch
):
    from qa.index.format import BM25_DIR
    from qa.index.lexical import BM25_FILES, BM25Builder

    build(corpus_dir, tmp_path / "default", HashEmbedder())
    spills = []
    flush = BM25Builder._flush
    monkeypatch.setattr(BM25Builder, "_flush", lambda self: spills.append(len(self._ids)) or flush(self))
    monkeypatch.setattr("qa.index.lexical.SPILL_ENTRIES", 3)  # many spills, boundaries inside passages
    build(corpus_dir, tmp_path / "spilled", HashEmbedder())
    assert len(spills) > 2  # every passage has 3 distinct terms or more, so each add() spilled
    manifest = read_manifest(tmp_path / "spilled")
    listed = sorted(name for name in manifest.files if name.startswith(f"{BM25_DIR}/"))
    assert listed == sorted(f"{BM25_DIR}/{name}" for name in BM25_FILES)
    assert all(name in manifest.sha256 for name in listed)  # the checksums cover the BM25 files
    assert not any("spill" in p.name for p in (tmp_path / "spilled").rglob("*"))
    for name in BM25_FILES:
        a, b = (tmp_path / "default" / BM25_DIR / name), (tmp_path / "spilled" / BM25_DIR / name)
        assert a.read_bytes() == b.read_bytes(), name
