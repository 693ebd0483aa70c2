"""Answering from part of the collection: FAISS and BM25 search only the chosen documents' passages."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from qa import cli as cli_module
from qa.errors import InvalidRequest
from qa.index import dense as dense_module
from qa.index.dense import DenseIndex
from qa.search.filter import allowed_passages, matches
from qa.search.retriever import Retriever
from qa.text.terms import terms
from tests.helpers import make_service, write_files
from tests.web_helpers import check_error

FILES = {
    "guides/setup.txt": "Setup\nThe router is reset by holding the button for ten seconds.\n",
    "guides/wifi.md": "# Wifi\nThe wifi password is printed under the router. Its four antennas fold down.\n",
    "guidesx.txt": "Guides X\nThe router light blinks green when it starts. A router needs power.\n",
    "notes.txt": "Notes\nThe router was bought in May. The router warranty lasts two years.\n",
}


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def reference(vectors: np.ndarray, query: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    scores = vectors[allowed] @ query
    return allowed[np.argsort(-scores, kind="stable")[:k]].tolist()


@pytest.mark.parametrize("kind", ["flat", "hnsw-exact", "hnsw-graph"])
def test_dense_search_among_allowed_ids_equals_brute_force_and_fills_k(kind, monkeypatch):
    vectors = unit_vectors(3000, 32, seed=5)
    index = DenseIndex.build(vectors, exact_limit=100 if kind.startswith("hnsw") else 10_000)
    if kind == "hnsw-graph":
        monkeypatch.setattr(dense_module, "EXACT_LIMIT", 50)  # so 1,500 allowed ids take the graph walk
    allowed = np.arange(0, 3000, 2, dtype=np.int64) if kind == "hnsw-graph" else np.arange(700, 760, dtype=np.int64)
    found = wanted = 0
    for query in unit_vectors(20, 32, seed=6):
        scores, ids = index.search(query, 10, allowed)
        assert len(ids) == 10
        assert set(ids.tolist()) <= set(allowed.tolist())
        assert np.allclose(scores, vectors[ids] @ query, atol=1e-5)
        want = reference(vectors, query, allowed, 10)
        found += len(set(ids.tolist()) & set(want))
        wanted += 10
        if kind != "hnsw-graph":
            assert ids.tolist() == want  # exact search: exactly the brute-force top k
    assert found / wanted >= 0.95


def test_dense_search_among_fewer_ids_than_k_returns_them_all():
    vectors = unit_vectors(200, 16, seed=7)
    _, ids = DenseIndex.build(vectors).search(vectors[3], 10, np.array([3, 9, 40], dtype=np.int64))
    assert sorted(ids.tolist()) == [3, 9, 40] and ids[0] == 3


@pytest.fixture
def router(tmp_path):
    service = make_service(write_files(tmp_path / "corpus", FILES), tmp_path / "index")
    service.build()
    return service


def test_a_folder_prefix_selects_its_documents_and_not_a_name_that_merely_starts_alike(router):
    retriever = router.load().retriever
    doc_of = lambda p: retriever.doc(int(p)).doc_id
    for wanted in ("guides/", "guides"):
        assert {doc_of(p) for p in allowed_passages(retriever, [wanted])} == {"guides/setup.txt", "guides/wifi.md"}
    assert {doc_of(p) for p in allowed_passages(retriever, ["notes.txt", "guidesx.txt"])} == {
        "notes.txt",
        "guidesx.txt",
    }
    assert matches("guides/a.txt", "guides/") and not matches("guidesx.txt", "guides")
    with pytest.raises(InvalidRequest, match="'nowhere/'"):
        allowed_passages(retriever, ["notes.txt", "nowhere/"])


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_retrieval_with_a_filter_is_the_unfiltered_ranking_restricted_to_the_documents(router, mode):
    retriever: Retriever = router.load().retriever
    retriever.params = retriever.params.__class__(**{**retriever.params.__dict__, "rerank_depth": 0})
    text = "router"
    vector = router.embedder.encode([text])[0]
    allowed = allowed_passages(retriever, ["guides/", "notes.txt"])
    everything = retriever.search(vector, terms(text), k=len(retriever), mode=mode)
    filtered = retriever.search(vector, terms(text), k=3, mode=mode, allowed=allowed)
    assert len(filtered) == 3  # k come back: the filter is applied inside each search, not to its results
    assert all(h.passage in set(allowed.tolist()) for h in filtered)
    if mode != "hybrid":  # fused scores are normalised over each candidate set, so only single modes compare
        want = [h.passage for h in everything if h.passage in set(allowed.tolist())][:3]
        assert [h.passage for h in filtered] == want


def test_ask_and_search_answer_only_from_the_chosen_documents(router):
    answer = router.ask("What does the router do?", doc_ids=["notes.txt"])
    assert answer.citations and {c.doc_id for c in answer.citations} == {"notes.txt"}
    _, results = router.search("router", k=10, doc_ids=["guides/"])
    assert {r.doc_id for r in results} == {"guides/setup.txt", "guides/wifi.md"}
    for bad in ([], "notes.txt", [3], [""], ["nowhere.txt"]):
        with pytest.raises(InvalidRequest):
            router.ask("router", doc_ids=bad)


def test_the_api_takes_doc_ids_and_refuses_unknown_ones(client):
    response = client.post("/api/ask", json={"question": "How long is green tea brewed?", "doc_ids": ["owls.txt"]})
    assert response.status_code == 200
    assert {c["doc_id"] for c in response.get_json()["citations"]} <= {"owls.txt"}
    answer = client.post("/api/ask", json={"question": "How long is green tea brewed?", "doc_ids": ["tea/"]})
    assert answer.get_json()["citations"][0]["doc_id"] == "tea/green-tea.md"
    check_error(client.post("/api/ask", json={"question": "tea?", "doc_ids": ["nope.txt"]}), 400, "invalid_request")
    check_error(client.post("/api/ask", json={"question": "tea?", "doc_ids": "tea/"}), 400, "invalid_request")


def test_qa_ask_and_search_take_doc(router, monkeypatch):
    monkeypatch.setattr(cli_module, "service_for", lambda settings: router)
    env = {"QA_CORPUS_DIR": str(router.settings.corpus_dir), "QA_INDEX_DIR": str(router.settings.index_dir)}
    runner = CliRunner()
    result = runner.invoke(cli_module.cli, ["search", "--json", "--doc", "notes.txt", "router"], env=env)
    assert result.exit_code == 0, result.output
    assert '"doc_id": "notes.txt"' in result.output and "guides/" not in result.output
    result = runner.invoke(cli_module.cli, ["search", "--doc", "nope/", "router"], env=env)
    assert result.exit_code == 1 and "nope/" in result.output
    result = runner.invoke(cli_module.cli, ["ask", "--json", "--doc", "guides/", "How is the router reset?"], env=env)
    assert result.exit_code == 0, result.output
    assert '"doc_id": "guides/setup.txt"' in result.output and "notes.txt" not in result.output
