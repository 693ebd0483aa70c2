"""A memory-mapped index (QA_INDEX_MMAP, on by default): shared pages, the same answers, the index it was read from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.index.store import read_index
from qa.index.texts import StoredDocument
from qa.search.retriever import Retriever
from tests.helpers import make_service

QUESTIONS = ["When was the Fresnel lens invented?", "How long is green tea brewed?", "What is a lighthouse?"]


def test_a_mapped_index_holds_read_only_maps_and_reads_texts_on_demand(service):
    data = read_index(service.settings.index_dir, mmap=True)
    for vectors in (data.passage_vectors, data.sentence_vectors):
        assert isinstance(vectors.base, np.memmap) and not vectors.flags.writeable
    assert all(isinstance(d, StoredDocument) for d in data.documents)
    eager = read_index(service.settings.index_dir, mmap=False)
    assert [d.to_dict() for d in data.documents] == [d.to_dict() for d in eager.documents]
    for vectors in (eager.passage_vectors, eager.sentence_vectors):
        assert vectors.flags.writeable  # a private copy, not a map of the file


def test_mapped_and_read_indexes_answer_byte_for_byte_alike(corpus_dir, tmp_path):
    mapped = make_service(corpus_dir, tmp_path / "index")
    mapped.build()
    read = make_service(corpus_dir, tmp_path / "index", index_mmap=False)
    assert mapped.settings.index_mmap and not read.settings.index_mmap
    for question in QUESTIONS:
        assert mapped.ask(question, k=3).to_dict() == read.ask(question, k=3).to_dict()
    r = Retriever.open(Path(tmp_path / "index"))
    assert r.dense.index.ntotal == len(r.data.passage_vectors)


def test_a_mapped_index_keeps_reading_the_build_it_was_opened_with(corpus_dir, tmp_path):
    service = make_service(corpus_dir, tmp_path / "index")
    service.build()
    expected = [d.text for d in read_index(tmp_path / "index").documents]
    old = Retriever.open(tmp_path / "index")  # no text read yet: nothing is cached
    for path in corpus_dir.rglob("*.*"):
        path.write_text("A different document about sundials and shadows.\n", encoding="utf-8")
    service.build()  # swaps in a new folder and removes the old one's files
    assert all("sundials" in d.text for d in read_index(tmp_path / "index").documents)
    assert [d.text for d in old.data.documents] == expected  # the unlinked files' pages stay mapped
