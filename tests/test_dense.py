"""FAISS passage search checked against a NumPy brute-force top-k."""

import numpy as np
import pytest

from qa.index.dense import DenseIndex


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = vectors @ query
    ids = np.argsort(-scores, kind="stable")[:k]
    return scores[ids], ids


@pytest.mark.parametrize("k", [1, 5, 20])
def test_flat_index_equals_brute_force(k):
    vectors = unit_vectors(300, 32, seed=1)
    index = DenseIndex.build(vectors)
    assert index.kind == "flat"
    for query in unit_vectors(10, 32, seed=2):
        scores, ids = index.search(query, k)
        want_scores, want_ids = brute_force(vectors, query, k)
        assert ids.tolist() == want_ids.tolist()
        assert np.allclose(scores, want_scores, atol=1e-5)


def test_hnsw_above_exact_limit_has_high_recall():
    vectors = unit_vectors(2000, 32, seed=3)
    index = DenseIndex.build(vectors, exact_limit=100)
    assert index.kind == "hnsw"
    k, found, wanted = 10, 0, 0
    for query in unit_vectors(30, 32, seed=4):
        scores, ids = index.search(query, k)
        assert len(ids) == k
        assert np.allclose(scores, vectors[ids] @ query, atol=1e-5)  # scores are true inner products
        assert list(scores) == sorted(scores, reverse=True)
        _, want = brute_force(vectors, query, k)
        found += len(set(ids.tolist()) & set(want.tolist()))
        wanted += k
    assert found / wanted >= 0.9


def test_k_larger_than_index_and_zero_k():
    vectors = unit_vectors(4, 8, seed=5)
    index = DenseIndex.build(vectors)
    scores, ids = index.search(vectors[0], 50)
    assert sorted(ids.tolist()) == [0, 1, 2, 3] and ids[0] == 0
    scores, ids = index.search(vectors[0], 0)
    assert len(scores) == len(ids) == 0


@pytest.mark.parametrize("exact_limit", [1000, 10])
def test_save_and_load_round_trip(tmp_path, exact_limit):
    vectors = unit_vectors(50, 16, seed=6)
    index = DenseIndex.build(vectors, exact_limit=exact_limit)
    index.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == index.kind
    query = vectors[7]
    assert loaded.search(query, 5)[1].tolist() == index.search(query, 5)[1].tolist()


def test_hnsw_searches_with_the_configured_ef_after_a_save_and_load(tmp_path):
    from qa.index.dense import HNSW_EF_SEARCH

    index = DenseIndex.build(unit_vectors(300, 16, seed=6), exact_limit=100)
    index.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == "hnsw"
    assert index.index.hnsw.efSearch == loaded.index.hnsw.efSearch == HNSW_EF_SEARCH >= 1024


@pytest.mark.parametrize("exact_limit", [10_000, 100])
def test_vectors_added_in_slices_into_reserved_storage_are_stored_exactly(exact_limit, monkeypatch):
    import faiss

    import qa.index.dense

    monkeypatch.setattr(qa.index.dense, "ADD_BATCH", 128)  # several add() calls into the room made by create()
    vectors = unit_vectors(1000, 16, seed=7)
    index = DenseIndex.create(16, len(vectors), exact_limit=exact_limit)
    index.add(vectors[:500])
    index.add(vectors[500:])
    flat = faiss.downcast_index(index.index.storage) if index.kind == "hnsw" else index.index
    assert index.index.ntotal == flat.ntotal == len(vectors)
    assert np.array_equal(flat.reconstruct_n(0, len(vectors)), vectors)
    assert index.search(vectors[42], 1)[1].tolist() == [42]
