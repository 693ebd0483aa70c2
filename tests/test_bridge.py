"""Question words the documents never use are searched as the nearest document word (qa/search/bridge.py)."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from qa.search.bridge import TermBridge, vocabulary
from qa.search.params import DEFAULT_RETRIEVAL
from qa.search.shards import indexes
from qa.testing import HashEmbedder, write_files
from tests.helpers import make_service

# The fake embedder encodes these words as the other: the model "knows" they mean the same.
SAME = {"pills": "medication", "sight": "vision"}


class SynonymEmbedder(HashEmbedder):
    """The fake embedder, with the words of SAME encoded as their synonyms."""

    def encode(self, texts, batch_size=64, progress=False):
        return super().encode([" ".join(SAME.get(w, w) for w in t.split()) for t in texts], batch_size)


class CountingEncoder:
    """Fixed unit vectors for a handful of words; counts the texts it was asked for."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = {w: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for w, v in vectors.items()}
        self.asked: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.asked.extend(texts)
        return np.stack([self.vectors[t] for t in texts])


def test_the_vocabulary_is_distinct_content_words_of_letters():
    found = vocabulary(["The medication helps; 12 patients took it twice.", "Medication, vision and MRI-scans"])
    assert found == ["helps", "medication", "mri", "patients", "scans", "took", "twice", "vision"]


def test_the_vocabulary_keeps_the_commonest_words_when_it_is_limited():
    assert vocabulary(["alpha alpha beta beta gamma"], limit=2) == ["alpha", "beta"]


def test_a_word_stands_in_only_when_it_is_near_enough_and_each_is_embedded_once():
    encode = CountingEncoder(
        {"medication": [1, 0, 0], "vision": [0, 1, 0], "pills": [0.9, 0.1, 0], "cost": [0, 0.3, 1]}
    )
    bridge = TermBridge(lambda: ["medication and vision"], encode, min_cosine=0.6)
    assert bridge.stand_in("pills") == "medication"
    assert bridge.stand_in("cost") is None  # nearest is "vision" at cosine 0.29
    assert bridge.stand_in("pills") == "medication"
    assert encode.asked == ["medication", "vision", "pills", "cost"]  # the vocabulary once, then each word once


def test_the_vocabulary_can_be_embedded_in_the_background_before_any_question():
    encode = CountingEncoder({"medication": [1, 0], "pills": [1, 0]})
    embedded = threading.Event()

    def signalling(texts):
        vectors = encode(texts)
        embedded.set()
        return vectors

    bridge = TermBridge(lambda: ["medication"], signalling, min_cosine=0.6)
    bridge.prepare_in_background()
    bridge.prepare_in_background()
    assert embedded.wait(10) and encode.asked == ["medication"]
    assert bridge.stand_in("pills") == "medication"
    assert encode.asked == ["medication", "pills"]


def test_a_word_the_model_reads_in_pieces_gets_no_stand_in():
    encode = CountingEncoder({"medication": [1, 0], "pills": [1, 0], "tablets": [1, 0]})
    bridge = TermBridge(lambda: ["medication"], encode, min_cosine=0.6, knows_word=lambda word: word != "pills")
    assert bridge.stand_in("pills") is None
    assert bridge.stand_in("tablets") == "medication"


def test_a_bridge_at_cosine_zero_finds_nothing_and_embeds_nothing():
    encode = CountingEncoder({"medication": [1, 0], "pills": [1, 0]})
    bridge = TermBridge(lambda: ["medication"], encode, min_cosine=0.0)
    assert bridge.stand_in("pills") is None and encode.asked == []


CORPUS = {
    "treatment.txt": "Treatment\nOral medication such as carbamazepine calms the spasms in many patients.\n"
    "Surgery moves the artery away from the facial nerve.\n",
    "symptoms.txt": "Symptoms\nThe twitching may disturb vision when the eyelid closes.\n",
}


@pytest.fixture
def corpus(tmp_path):
    return write_files(tmp_path / "corpus", CORPUS)


def test_a_question_word_the_documents_lack_is_searched_as_its_stand_in(corpus, tmp_path):
    service = make_service(corpus, tmp_path / "index", SynonymEmbedder())
    service.build()
    loaded = service.load()
    assert loaded.retriever.query_terms("Are there pills for the spasms?") == ["medic", "spasm"]
    answer = service.ask("Are there pills for the spasms?", k=1)
    assert not answer.abstained and "medication" in answer.citations[0].quote


def test_without_the_bridge_the_word_is_searched_as_itself(corpus, tmp_path):
    no_bridge = replace(DEFAULT_RETRIEVAL, stand_in_cosine=0)
    service = make_service(corpus, tmp_path / "index", SynonymEmbedder(), retrieval_params=no_bridge)
    service.build()
    loaded = service.load()
    assert loaded.retriever.query_terms("Are there pills for the spasms?") == ["pill", "spasm"]


def test_a_stand_in_does_not_vouch_for_the_word_when_declining(corpus, tmp_path):
    with_bridge = make_service(corpus, tmp_path / "index", SynonymEmbedder())
    with_bridge.build()
    no_bridge = replace(DEFAULT_RETRIEVAL, stand_in_cosine=0)
    without = make_service(corpus, tmp_path / "index", SynonymEmbedder(), retrieval_params=no_bridge)
    question = "Are there pills for the spasms?"
    missing = [s.load().answerer.missing_specificity(question) for s in (with_bridge, without)]
    assert missing[0] == missing[1] > 0


class VocabularyWatcher(SynonymEmbedder):
    """Tells when the index's vocabulary (a list holding the bare word "medication") was embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.vocabulary_embedded = threading.Event()

    def encode(self, texts, batch_size=64, progress=False):
        if "medication" in texts:
            self.vocabulary_embedded.set()
        return super().encode(texts, batch_size)


def test_a_warmed_up_service_embeds_each_loaded_index_vocabulary_before_any_question(corpus, tmp_path):
    embedder = VocabularyWatcher()
    service = make_service(corpus, tmp_path / "index", embedder)
    service.build()
    service.load()
    assert not embedder.vocabulary_embedded.is_set()  # a one-off `qa ask` embeds it only if a question needs it
    service.warm_up()
    assert embedder.vocabulary_embedded.wait(10)
    embedder.vocabulary_embedded.clear()
    (corpus / "more.txt").write_text("Spasms may return after surgery in a few patients.", encoding="utf-8")
    service.build()
    service.load()
    assert embedder.vocabulary_embedded.wait(10)  # the rebuilt index's words, again without a question


def test_words_the_index_knows_keep_their_own_terms(corpus, tmp_path):
    service = make_service(corpus, tmp_path / "index", SynonymEmbedder())
    service.build()
    retriever = service.load().retriever
    assert retriever.query_terms("Does surgery disturb sight?") == ["surgeri", "disturb", "vision"]
    assert retriever.stand_in("surgery") is None


def test_a_stand_in_only_the_page_chrome_uses_is_not_taken(tmp_path):
    # "medication" is only in a scraped button; "media", one letter from its stem "medic", is indexed.
    files = {"page.txt": "Free medication free medication\nThe media report that tablets calm the spasms.\n"}
    service = make_service(write_files(tmp_path / "corpus", files), tmp_path / "index", SynonymEmbedder())
    service.build()
    retriever = service.load().retriever
    assert retriever.bridge.stand_in("pills") == "medication"
    assert retriever.bm25.knows("medic") and not indexes(retriever.bm25, "medic")
    assert retriever.stand_in("pills") is None
    assert retriever.query_terms("Do pills help?") == ["pill", "help"]
