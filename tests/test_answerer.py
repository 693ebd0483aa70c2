"""Extractive answers: verbatim quotes with exact offsets, quoting context, declining."""

from itertools import pairwise

import pytest

from qa.search.answerer import NOT_FOUND, _near_duplicate
from qa.search.params import AnswerParams
from qa.service import QAService
from qa.text.terms import terms
from tests.helpers import assert_citations_exact, make_service, write_files

DECLINE_BELOW = AnswerParams().decline_below


def test_answer_quotes_the_matching_sentence_with_exact_offsets(service, corpus_dir):
    answer = service.ask("Who invented the Fresnel lens?")
    assert not answer.abstained
    assert answer.confidence >= DECLINE_BELOW
    assert "The Fresnel lens was invented by Augustin Fresnel in 1822." in answer.citations[0].quote
    c = answer.citations[0]
    assert (c.doc_id, c.title, c.section) == ("lighthouse.txt", "The Keeper's Handbook", "Lamps and lenses")
    assert [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert answer.answer.startswith(f"\u201c{c.quote}\u201d [1]")
    assert answer.index_version == service.info()["index_version"]
    assert_citations_exact(answer, corpus_dir)


def test_unrelated_question_is_declined(service):
    answer = service.ask("What is the capital city of Peru?")
    assert answer.abstained
    assert answer.answer == NOT_FOUND and answer.citations == []
    assert answer.confidence < DECLINE_BELOW


def test_answer_params_are_the_services_own(service):
    never = QAService(service.settings, service.embedder, answer_params=AnswerParams(decline_below=0.0))
    assert service.ask("What is the capital city of Peru?").abstained
    assert not never.ask("What is the capital city of Peru?").abstained  # nothing is declined at threshold 0


def test_sentence_leaning_back_is_quoted_with_the_one_before(service, corpus_dir):
    answer = service.ask("How far is the beam of the lamp visible?")
    quote = answer.citations[0].quote
    assert quote.startswith("The Fresnel lens was invented")
    assert "It concentrates the light of a small lamp into a beam visible for twenty miles." in quote
    assert len(quote) <= 600
    assert_citations_exact(answer, corpus_dir)


def test_leaning_back_stops_at_a_line_break(tmp_path):
    corpus = write_files(
        tmp_path / "c",
        {"owls.txt": "Barn owls nest in old barns and church towers.\nIt hunts voles at night over open fields.\n"},
    )
    svc = make_service(corpus, tmp_path / "index")
    svc.build()
    answer = svc.ask("What does the barn owl hunt at night over fields?")
    assert "It hunts voles at night over open fields." in [c.quote for c in answer.citations]
    assert all("\n" not in c.quote for c in answer.citations)
    assert_citations_exact(answer, corpus)


def test_quotes_do_not_repeat_or_overlap(service, corpus_dir):
    answer = service.ask("When does the keeper record the weather in the logbook?", k=5)
    assert not answer.abstained
    assert sum("logbook" in c.quote for c in answer.citations) == 1  # the repeated paragraph is indexed once
    spans = sorted((c.doc_id, c.start, c.end) for c in answer.citations)
    for (d1, _, e1), (d2, s2, _) in pairwise(spans):
        assert d1 != d2 or e1 <= s2
    assert_citations_exact(answer, corpus_dir)


@pytest.mark.parametrize("question", ["Was this article helpful?", "How can we help?", "in other languages"])
def test_page_chrome_is_never_quoted(service, question):
    answer = service.ask(question, k=10)
    for c in answer.citations:
        assert "helpful" not in c.quote and "How can we help" not in c.quote and "LANGUAGES" not in c.quote


def test_k_bounds_the_number_of_citations(service):
    assert len(service.ask("lamp lens keeper wick", k=1).citations) <= 1
    assert len(service.ask("lamp lens keeper wick", k=10).citations) <= 10


def test_to_dict_is_the_stable_json_form(service):
    d = service.ask("Who invented the Fresnel lens?").to_dict()
    assert list(d) == ["question", "search_query", "abstained", "answer", "index_version", "confidence", "citations"]
    assert list(d["citations"][0]) == ["id", "doc_id", "title", "section", "quote", "start", "end", "score"]


def test_near_duplicate_quotes():
    a = "The keeper records the weather in the logbook every four hours."
    assert _near_duplicate(a, a.upper())
    assert not _near_duplicate(a, "Bees dance to show where nectar is.")
    assert _near_duplicate("...", " ... ") and not _near_duplicate("...", "!!!")


def test_calibrated_confidence_is_a_rising_probability():
    from qa.search.answerer import calibrated

    values = [calibrated(z) for z in (-1e9, -5.0, 0.0, 5.0, 1e9)]
    assert values == sorted(values) and values[0] >= 0.0 and values[-1] <= 1.0
    assert values[1] < DECLINE_BELOW < values[3]  # a clearly unanswerable score declines, a clear one answers


def test_numbers_decades_and_ordinals_are_not_missing_topics(service):
    answerer = service.load().answerer
    assert answerer.missing_specificity("What happened in the 1600s and the 19th century?") == 0.0
    assert answerer.missing_specificity("What causes trigeminal neuralgia?") > 0.0


def test_a_quote_ending_in_a_colon_takes_what_it_introduces(tmp_path):
    corpus = write_files(
        tmp_path / "c",
        {
            "owls.txt": "Owls need quiet places to rest during the long winter days and nights.\n"
            "The barn owl's usual winter roosts are:\n"
            "hollow trees, church towers and the lofts of old stone barns.\n"
        },
    )
    svc = make_service(corpus, tmp_path / "index")
    svc.build()
    answer = svc.ask("What are the usual winter roosts of the barn owl?")
    first = answer.citations[0].quote
    assert "roosts are:\nhollow trees, church towers" in first
    assert_citations_exact(answer, corpus)


def test_no_quote_grows_past_the_limit_with_context(tmp_path):
    # j leans back on a short sentence and has a long one after: j with either fits in 600, all three do not.
    before = "The keeper lights the great lamp at dusk on every evening of the year, in fair weather and foul."
    sentence = "It burns whale oil until the first light of dawn, when the keeper trims the wick once more."
    after = "The lantern room " + "holds brass fittings, spare wicks, oil cans and cleaning cloths, " * 6 + "all dry."
    assert len(sentence) + 1 + len(after) <= 600 < len(before) + len(sentence) + len(after) + 2
    corpus = write_files(tmp_path / "c", {"lamp.txt": f"{before} {sentence} {after}\n"})
    svc = make_service(corpus, tmp_path / "index")
    svc.build()
    answer = svc.ask("What does the lamp burn until the first light of dawn?", k=1)
    quote = answer.citations[0].quote
    assert sentence in quote and len(quote) <= 600
    assert_citations_exact(answer, corpus)


def test_a_quote_without_the_questions_negation_or_number_lowers_the_answerability(service):
    loaded = service.load()
    retriever, answerer = loaded.retriever, loaded.answerer

    def answerability(question: str, quote: str) -> float:
        vector = service.embedder.encode([question])[0]
        hits = retriever.search(vector, terms(question), k=10)
        return answerer.answerability(question, answerer.candidates(question, vector, terms(question), hits), quote)

    negated = "Who never kept the lighthouse logbook?"
    assert answerability(negated, "The keeper never missed a log entry.") > answerability(
        negated, "The keeper records the weather in the logbook every four hours."
    )
    dated = "Who invented the Fresnel lens in 1830?"
    assert answerability(dated, "Fresnel improved the lens in 1830.") > answerability(
        dated, "The Fresnel lens was invented by Augustin Fresnel in 1822."
    )
    plain = "Who invented the Fresnel lens?"
    assert answerability(plain, "Fresnel improved the lens in 1830.") == answerability(
        plain, "The Fresnel lens was invented by Augustin Fresnel in 1822."
    )


def test_a_question_with_a_typing_error_is_answered_as_if_spelt_right(service):
    right, typo = "Who invented the Fresnel lens?", "Who invnted the Fresnel lens?"
    retriever, answerer = service.load().retriever, service.load().answerer
    assert retriever.query_terms(typo) == retriever.query_terms(right) == terms(right)
    assert answerer.missing_specificity(typo) == 0.0  # a misspelt word is not a topic the corpus lacks
    answer = service.ask(typo)
    assert not answer.abstained
    assert "invented by Augustin Fresnel in 1822" in answer.citations[0].quote
