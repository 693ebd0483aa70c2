"""QAService: validation, ask/search/document/info, model checks, reloading and building on demand."""

import threading

import pytest

from qa.errors import IndexNotFound, IndexUnusable, InvalidRequest, TooLarge
from qa.search.validate import (
    MAX_HISTORY_TURNS,
    MAX_QUESTION_CHARS,
    validate_history,
    validate_k,
    validate_question,
)
from qa.service import QAService
from qa.testing import HashEmbedder
from tests.helpers import NEW_DOC, assert_citations_exact, make_service


def test_validate_question():
    assert validate_question("  Why?  ") == "Why?"
    for bad in (None, 3, ["q"]):
        with pytest.raises(InvalidRequest, match="must be a string"):
            validate_question(bad)
    with pytest.raises(InvalidRequest, match="must not be empty"):
        validate_question(" \n ")
    with pytest.raises(TooLarge):
        validate_question("x" * (MAX_QUESTION_CHARS + 1))


def test_validate_history():
    assert validate_history(None) == []
    assert validate_history(["a", " ", "b"]) == ["a", "b"]
    assert validate_history([str(i) for i in range(50)]) == [str(i) for i in range(50 - MAX_HISTORY_TURNS, 50)]
    for bad in ("a string", [1, 2], {"q": 1}):
        with pytest.raises(InvalidRequest, match="history must be a list of strings"):
            validate_history(bad)
    with pytest.raises(TooLarge):
        validate_history(["x" * (MAX_QUESTION_CHARS + 1)])


def test_validate_k():
    assert validate_k(1, 10) == 1 and validate_k(100, 100) == 100
    assert validate_k(2.0, 10) == 2 and type(validate_k(2.0, 10)) is int  # JSON Schema's integer includes 2.0
    for bad in (0, 11, True, 2.5, 11.0, "3", None):
        with pytest.raises(InvalidRequest, match="k must be a whole number from 1 to 10"):
            validate_k(bad, 10)


def test_ask_validates_its_arguments(service):
    with pytest.raises(InvalidRequest):
        service.ask("")
    with pytest.raises(InvalidRequest):
        service.ask("lamp", k=11)
    with pytest.raises(InvalidRequest, match="mode must be one of"):
        service.ask("lamp", mode="fuzzy")


def test_ask_with_history_searches_the_resolved_query(service, corpus_dir):
    answer = service.ask("Who invented it?", history=["What is the Fresnel lens?"])
    assert answer.question == "Who invented it?"
    assert answer.search_query == "Who invented it? (fresnel lens)"
    assert not answer.abstained and "Augustin Fresnel" in answer.citations[0].quote
    assert_citations_exact(answer, corpus_dir)


def test_search_returns_ranked_passages(service):
    query, results = service.search("waggle dance", k=2)
    assert query == "waggle dance"
    assert 1 <= len(results) <= 2
    top = results[0]
    assert top.doc_id == "bees/honey-bees.md" and top.section == "Foraging"
    assert service.document(top.doc_id)["text"][top.start : top.end] == top.text
    assert "waggle dance" in top.text
    _, bm25_only = service.search("waggle dance", k=100, mode="bm25")
    assert [r.doc_id for r in bm25_only] == ["bees/honey-bees.md"]
    with pytest.raises(InvalidRequest):
        service.search("x", k=101)


def test_document_and_info(service, corpus_dir):
    doc = service.document("bees/honey-bees.md")
    assert doc == {
        "doc_id": "bees/honey-bees.md",
        "title": "Honey Bees",
        "text": (corpus_dir / "bees/honey-bees.md").read_text(encoding="utf-8"),
    }
    assert service.document("nope.txt") is None
    info = service.info()
    assert info["documents"] == 2 and info["passages"] > 0 and info["sentences"] >= info["passages"]
    assert info["model"] == "hash-256" and info["dense_index"] == "flat"
    assert info["index_dir"] == str(service.settings.index_dir)


def test_index_built_with_another_model_is_refused(service):
    other = QAService(service.settings, HashEmbedder(dimension=64))
    with pytest.raises(IndexUnusable, match=r"built with model hash-256 .* configured model is hash-64.*--rebuild"):
        other.ask("lamp")


def test_no_index_is_index_not_found_until_built(corpus_dir, tmp_path):
    svc = make_service(corpus_dir, tmp_path / "index")
    with pytest.raises(IndexNotFound):
        svc.ask("lamp")
    report = svc.ensure_index()
    assert report is not None and report.documents == 2
    assert svc.ensure_index() is None
    assert not svc.ask("Who invented the Fresnel lens?").abstained


def test_service_sees_a_rebuilt_index(service, corpus_dir):
    before = service.info()["index_version"]
    assert service.ask("How does the moon pull the sea?").abstained
    (corpus_dir / "tides.txt").write_text(NEW_DOC)
    make_service(corpus_dir, service.settings.index_dir).build()  # another process rebuilds
    assert service.info()["index_version"] != before
    answer = service.ask("How does the moon pull the sea?")
    assert not answer.abstained and answer.citations[0].doc_id == "tides.txt"


def test_model_identity_of_an_injected_embedder(service):
    assert service.model_identity() == {"name": "hash-256", "path": "", "fingerprint": "hash-256"}


def test_loading_the_index_makes_the_stemmer_so_the_first_question_does_not(corpus_dir, tmp_path):
    from qa.text.terms import load_stemmer

    service = make_service(corpus_dir, tmp_path / "index")
    service.build()
    load_stemmer.cache_clear()
    service.load()
    assert load_stemmer.cache_info().currsize == 1


class GatedEmbedder(HashEmbedder):
    """Counts encodes running at once; once `hold` is set, each waits for `gate` before finishing."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.gate = threading.Event()
        self.changed = threading.Condition()
        self.active = self.most_active = 0

    def encode(self, texts, batch_size=64, progress=False):
        with self.changed:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            self.changed.notify_all()
        try:
            if self.hold:
                self.gate.wait(timeout=30)
            return super().encode(texts, batch_size, progress)
        finally:
            with self.changed:
                self.active -= 1


def concurrent_searches(service: QAService, embedder: GatedEmbedder, threads: int, wait_for: int) -> int:
    """Start `threads` searches against a held model; the encodes running once `wait_for` have started."""
    service.load()
    embedder.hold = True
    workers = [threading.Thread(target=service.search, args=(f"keeper lamp {i}",)) for i in range(threads)]
    for w in workers:
        w.start()
    with embedder.changed:
        assert embedder.changed.wait_for(lambda: embedder.active >= wait_for, timeout=30)
    # Give the other threads every chance to get into the model too; then let them all finish.
    for w in workers:
        w.join(timeout=0.05)
    active = embedder.active
    embedder.gate.set()
    for w in workers:
        w.join()
    return active


@pytest.mark.parametrize("slots", [1, 2])
def test_encode_slots_bound_the_questions_encoded_at_once(corpus_dir, tmp_path, slots):
    embedder = GatedEmbedder()
    service = make_service(corpus_dir, tmp_path / "index", embedder)
    service.build()
    service.limit_encodes(slots)
    assert concurrent_searches(service, embedder, threads=6, wait_for=slots) == slots
    assert embedder.most_active == slots
    assert service.encode_slots == slots


def test_without_encode_slots_every_question_encodes_at_once(corpus_dir, tmp_path):
    embedder = GatedEmbedder()
    service = make_service(corpus_dir, tmp_path / "index", embedder)
    service.build()
    assert concurrent_searches(service, embedder, threads=6, wait_for=6) == 6
