"""Abbreviations the documents define let either form of a term find the other (qa/search/abbreviations.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.search.abbreviations import Aliases, Definition, definitions, long_form
from qa.search.params import DEFAULT_RETRIEVAL
from qa.search.retriever import coverage
from qa.service import QAService
from qa.testing import write_files
from tests.helpers import make_service


def found(text: str) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return [(short, d.short, d.long) for short, d in definitions(text)]


def test_a_definition_is_the_words_before_the_parenthesis_that_its_letters_start():
    assert long_form("HFS", "This article is about Hemifacial Spasm") == "Hemifacial Spasm"
    assert long_form("BTA", "widely used: Botuline Toxin A") == "Botuline Toxin A"
    assert long_form("CT", "a computed tomography") == "computed tomography"
    assert long_form("XYZ", "nothing like it here") is None
    text = "Cases of Middle East respiratory syndrome coronavirus (MERS-CoV) rose. MERS-CoV spreads."
    assert found(text) == [("MERS-CoV", ("mer", "cov"), ("middl", "east", "respiratori", "syndrom", "coronavirus"))]


@pytest.mark.parametrize(
    "text",
    [
        "the results (see above) hold",  # no capital
        "as shown in part (II) of the trial",  # a roman numeral
        "as in the first trial (Smith) and the second",  # a name, not the words before it
        "a strong effect (P) was seen",  # one letter
    ],
)
def test_a_parenthesis_that_abbreviates_nothing_defines_nothing(text):
    assert found(text) == []


def test_aliases_add_each_form_for_the_other():
    aliases = Aliases.of(["Hemifacial spasm (HFS) is rare. HFS affects one side.", "It shows on a scan (CT)."])
    assert aliases.definitions == [Definition(("hfs",), ("hemifaci", "spasm"))]
    assert aliases.added({"hfs", "caus"}) == ["hemifaci", "spasm"]
    assert aliases.added({"hemifaci", "spasm"}) == ["hfs"]
    assert aliases.added({"spasm"}) == []  # half of a long form names nothing
    assert aliases.groups({"hfs"}) == [("hfs", "hemifaci", "spasm")]


def test_a_short_form_the_texts_also_use_as_a_word_is_left_out():
    texts = ["Scanning transmission electron micrographs (STEM) were taken.", "The stem of the loop was cut."]
    assert Aliases.of(texts).definitions == []


def test_a_short_form_defined_two_ways_keeps_its_commonest_meaning():
    texts = ["a relative risk (RR) of 2", "the relative risk (RR) fell", "the respiratory rate (RR) rose"]
    assert Aliases.of(texts).definitions == [Definition(("rr",), ("relat", "risk"))]


CORPUS = {
    "spasm.txt": (
        "Hemifacial spasm (HFS) is an involuntary twitching of one side of the face.\n\n"
        "Most often HFS is caused by an artery pressing on the facial nerve at the brainstem.\n\n"
        "Botulinum toxin injections relax the muscles for three to four months.\n"
    )
}


@pytest.fixture
def corpus(tmp_path):
    return write_files(tmp_path / "corpus", CORPUS)


def service_for(corpus, tmp_path, abbreviations: bool = True) -> QAService:
    params = replace(DEFAULT_RETRIEVAL, abbreviations=abbreviations)
    service = make_service(corpus, tmp_path / "index", retrieval_params=params)
    service.build()
    return service


def test_a_sentence_that_abbreviates_the_question_s_term_covers_it(corpus, tmp_path):
    question = "What causes hemifacial spasm?"
    shares = []
    for abbreviations in (True, False):
        retriever = service_for(corpus, tmp_path, abbreviations).load().retriever
        terms = retriever.query_terms(question)
        assert terms == ["caus", "hemifaci", "spasm"]  # the question is searched as worded
        artery = next(j for j in range(3) if "artery" in retriever.sentence_text(j))
        shares.append(coverage(retriever.term_weights(terms), retriever.sentence_terms(artery)))
    assert shares[0] == pytest.approx(1.0) and shares[1] < 0.8
    answer = service_for(corpus, tmp_path).ask(question, k=1)
    assert "artery pressing" in answer.citations[0].quote


def test_an_abbreviated_term_weighs_as_one_term_as_common_as_its_commoner_form(corpus, tmp_path):
    retriever = service_for(corpus, tmp_path).load().retriever
    weights = retriever.term_weights(["caus", "hemifaci", "spasm"])
    common = min(retriever.bm25.idf(t) for t in ("hemifaci", "spasm"))
    share = weights["caus"] * common / 2 / retriever.bm25.idf("caus")
    assert weights["hemifaci"] == weights["spasm"] == pytest.approx(share)


def test_abbreviations_can_be_switched_off(corpus, tmp_path):
    retriever = service_for(corpus, tmp_path, abbreviations=False).load().retriever
    assert len(retriever.aliases) == 0
    artery = next(j for j in range(3) if "artery" in retriever.sentence_text(j))
    assert "hemifaci" not in retriever.sentence_terms(artery)
