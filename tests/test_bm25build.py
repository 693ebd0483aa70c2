"""BM25Builder on disk: spilled entries and a matrix filled into bm25s's files equal the in-memory index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import qa.index.lexical
from qa.index.lexical import BM25_FILES, BM25Builder, BM25Index, CorpusStats
from tests.helpers import bm25s_reference, random_token_lists, scores_by_term

QUERIES = (["t0"], ["t3", "t1", "t3"], ["t59", "absent", "t2"], ["t10", "t20", "t30", "t0"], [""])


def _in_memory(corpus: list[list[str]], folder: Path) -> BM25Index:
    """The index as BM25Index.build makes it, saved by bm25s into `folder`."""
    index = BM25Index.build(corpus)
    index.save(folder)
    return index


def _on_disk(corpus: list[list[str]], folder: Path, spill: Path, spill_entries: int) -> None:
    """The index as the indexer writes it: entries spilled under `spill`, the matrix filled into `folder`."""
    spill.mkdir(exist_ok=True)
    with BM25Builder(spill_dir=spill, spill_entries=spill_entries) as builder:
        for tokens in corpus:
            builder.add(tokens)
            assert len(builder._ids) < spill_entries  # never more than a chunk in memory
        builder.write(folder)
    assert list(spill.iterdir()) == []  # the spill folder is removed


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("seed", "spill_entries", "finish_entries"), [(0, 1, 40), (1, 7, 40), (2, 40, 1), (3, 10**6, 10**6)]
)
def test_written_index_is_byte_identical_to_the_saved_in_memory_one(
    seed, spill_entries, finish_entries, monkeypatch, tmp_path
):
    monkeypatch.setattr(qa.index.lexical, "FINISH_ENTRIES", finish_entries)
    corpus = [*random_token_lists(seed, 50), [], ["t1", "t1", "t1"]]
    _in_memory(corpus, tmp_path / "memory")
    _on_disk(corpus, tmp_path / "disk", tmp_path / "spill", spill_entries)
    assert sorted(_files(tmp_path / "disk")) == sorted(BM25_FILES)
    assert _files(tmp_path / "disk") == _files(tmp_path / "memory")


@pytest.mark.parametrize("spill_entries", [1, 2, 3, 5, 1000])
def test_written_index_scores_as_bm25s_does(spill_entries, tmp_path):
    corpus = [*random_token_lists(7, 40), [], ["t2"], []]
    ref = bm25s_reference(corpus)
    _on_disk(corpus, tmp_path / "bm25", tmp_path / "spill", spill_entries)
    loaded = BM25Index.load(tmp_path / "bm25")
    assert scores_by_term(loaded.model) == scores_by_term(ref)
    assert loaded.num_docs == len(corpus)
    for query in QUERIES:
        assert np.array_equal(loaded.scores(query), np.asarray(ref.get_scores(query), dtype=np.float32))
    for term in ("t0", "t5", "t59", "absent"):
        assert loaded.idf(term) == BM25Index(ref).idf(term)


def test_spill_boundaries_falling_exactly_at_document_ends(tmp_path):
    # Each document has 3 distinct terms: with chunks of 3 and 6 entries every spill ends a document.
    corpus = [["a", "b", "c"], ["b", "c", "d", "d"], ["a", "c", "e"], ["e", "f", "a"]]
    _in_memory(corpus, tmp_path / "memory")
    for chunk in (3, 6, 4):
        _on_disk(corpus, tmp_path / f"disk{chunk}", tmp_path / "spill", chunk)
        assert _files(tmp_path / f"disk{chunk}") == _files(tmp_path / "memory")


@pytest.mark.parametrize("corpus", [[], [[]], [[], []]], ids=["no passages", "one empty passage", "two empty"])
def test_empty_corpora_are_written_as_bm25s_indexes_them(corpus, tmp_path):
    _in_memory(corpus, tmp_path / "memory")
    _on_disk(corpus, tmp_path / "disk", tmp_path / "spill", 1)
    assert _files(tmp_path / "disk") == _files(tmp_path / "memory")
    loaded, ref = BM25Index.load(tmp_path / "disk"), bm25s_reference(corpus)
    assert loaded.num_docs == max(len(corpus), 1) == ref.scores["num_docs"]
    assert scores_by_term(loaded.model) == scores_by_term(ref)
    assert not loaded.scores(["x"]).any()


def test_one_empty_passage_among_others(tmp_path):
    corpus = [["lamp", "lens"], [], ["lens", "wick", "wick"]]
    _on_disk(corpus, tmp_path / "disk", tmp_path / "spill", 2)
    loaded, ref = BM25Index.load(tmp_path / "disk"), bm25s_reference(corpus)
    assert scores_by_term(loaded.model) == scores_by_term(ref)
    scores = loaded.scores(["wick", "lens"])
    assert scores[1] == 0 and scores[2] > scores[0] > 0


def test_finish_from_spilled_entries_equals_finish_from_memory(tmp_path):
    corpus = random_token_lists(4, 30)
    with BM25Builder(spill_dir=tmp_path, spill_entries=5) as builder:
        for tokens in corpus:
            builder.add(tokens)
        spilled = builder.finish()
    assert list(tmp_path.iterdir()) == []
    assert scores_by_term(spilled.model) == scores_by_term(BM25Index.build(corpus).model)


def test_a_builder_left_by_an_error_removes_its_spill_files_and_cannot_finish(tmp_path):
    with pytest.raises(RuntimeError), BM25Builder(spill_dir=tmp_path, spill_entries=2) as builder:
        for tokens in random_token_lists(5, 10):
            builder.add(tokens)
        assert any(p.is_file() for p in tmp_path.rglob("*"))  # entries were spilled
        raise RuntimeError("killed midway")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="already finished"):
        builder.write(tmp_path / "bm25")


def test_shards_written_with_the_corpus_statistics_score_as_one_index(tmp_path):
    docs = random_token_lists(7, 60)
    whole = BM25Index.build(docs)
    parts = [docs[:25], docs[25:]]
    builders = []
    for part in parts:
        builder = BM25Builder()
        for tokens in part:
            builder.add(tokens)
        builders.append(builder)
    corpus = CorpusStats.total(b.stats() for b in builders)
    shards = []
    for i, builder in enumerate(builders):
        builder.write(tmp_path / f"s{i}", corpus)
        shards.append(BM25Index.load(tmp_path / f"s{i}"))
    vocabulary = sorted({t for d in docs for t in d})
    for query in ([vocabulary[0]], vocabulary[3:6], [vocabulary[-1], "absent"]):
        combined = np.concatenate([s.scores(query) for s in shards])
        assert np.array_equal(combined, whole.scores(query))  # exactly: the same arithmetic on the same numbers
    for term in vocabulary[:20]:
        for shard in shards:
            if shard.model.vocab_dict.get(term) is not None:
                assert shard.idf(term) == whole.idf(term)
