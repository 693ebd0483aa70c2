"""End to end with the real bundled model over the default corpus: answers, declines, exact citations."""

import json

import pytest
from click.testing import CliRunner

import qa.cli
from qa.config import Settings
from qa.service import QAService
from tests.helpers import CHROME_LINES, DEFAULT_CORPUS, REPO, source_text

pytestmark = pytest.mark.slow

DOC_ID = "what-causes-facial-twitching.txt"
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(scope="session")
def real_service(tmp_path_factory) -> QAService:
    """The default corpus indexed once per session with the bundled all-MiniLM-L6-v2."""
    service = QAService(Settings(corpus_dir=DEFAULT_CORPUS, index_dir=tmp_path_factory.mktemp("e2e") / "index"))
    report = service.build()
    assert report.problems == [] and report.documents == 1
    return service


def assert_offsets(answer) -> None:
    for c in answer.citations:
        assert source_text(DEFAULT_CORPUS / c.doc_id)[c.start : c.end] == c.quote


@pytest.mark.parametrize(
    ("question", "history", "expected_any"),
    [
        ("What is hemifacial spasm?", None, ("twitch", "convulsion")),
        ("What drugs are used to treat facial spasm?", None, ("phenytoin", "diazepam", "carbamazepine")),
        ("Does the twitching continue during sleep?", None, ("sleep",)),
        ("What causes it?", ["What is hemifacial spasm?"], ("compression", "caused by", "causes")),
    ],
)
def test_answers_quote_the_document(real_service, question, history, expected_any):
    answer = real_service.ask(question, history)
    assert not answer.abstained
    assert answer.citations
    quotes = " ".join(c.quote.casefold() for c in answer.citations)
    assert any(word in quotes for word in expected_any), quotes
    assert all(c.doc_id == DOC_ID for c in answer.citations)
    assert_offsets(answer)


def test_the_first_answer_to_what_is_hfs_is_about_twitching(real_service):
    quote = real_service.ask("What is hemifacial spasm?").citations[0].quote.casefold()
    assert "twitch" in quote or "convulsion" in quote


def test_follow_up_searches_with_the_conversation_topic(real_service):
    answer = real_service.ask("What causes it?", ["What is hemifacial spasm?"])
    assert "hemifacial spasm" in answer.search_query


@pytest.mark.parametrize("question", ["Who won the World Cup?", "How do I bake sourdough bread?"])
def test_out_of_scope_questions_are_declined(real_service, question):
    answer = real_service.ask(question)
    assert answer.abstained and answer.citations == []


def test_the_longest_question_allowed_is_answered_with_the_shipped_selector(real_service):
    """A question at MAX_QUESTION_CHARS is longer than a cross-encoder pair: it is cut to fit, not an error."""
    from qa.search.validate import MAX_QUESTION_CHARS

    assert real_service.settings.selector == "shipped" and real_service.selector is not None
    sentence = "Why does the facial nerve get compressed by an artery near the brainstem in hemifacial spasm? "
    answer = real_service.ask((sentence * 40)[:MAX_QUESTION_CHARS])
    assert not answer.abstained and answer.citations
    assert_offsets(answer)


def test_every_indexed_span_is_exact_and_chrome_and_repeats_are_left_out(real_service):
    data = real_service.load().retriever.data
    text = source_text(DEFAULT_CORPUS / DOC_ID)
    (doc,) = data.documents
    assert doc.text == text
    a = data.arrays
    sentences = [text[s:e] for s, e in zip(a.s_start, a.s_end, strict=True)]
    passages = [text[s:e] for s, e in zip(a.p_start, a.p_end, strict=True)]
    assert all(s and s == s.strip() for s in sentences)
    for chrome in CHROME_LINES:
        assert chrome in text  # the page carries it ...
        assert not any(chrome in p for p in passages)  # ... and the index does not
    opening = "Facial muscle spasm, also known as facial muscle twitch, hemifacial spasm, refers to"
    assert text.count(opening) == 2
    assert sum(s.startswith(opening) for s in sentences) == 1
    et_al = [s for s in sentences if "Barker et al. Showed" in s]
    assert len(et_al) == 1 and et_al[0].startswith("In the analysis of its influencing factors")


def test_cli_ask_and_search_with_the_real_model(real_service):
    index = str(real_service.settings.index_dir)
    runner = CliRunner()
    args = ["--corpus", str(DEFAULT_CORPUS), "--index", index]
    result = runner.invoke(
        qa.cli.cli, ["ask", "--json", *args], input="What is hemifacial spasm?\nWho won the World Cup?\n"
    )
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert not first["abstained"] and second["abstained"]
    for c in first["citations"]:
        assert source_text(DEFAULT_CORPUS / c["doc_id"])[c["start"] : c["end"]] == c["quote"]
    result = runner.invoke(qa.cli.cli, ["search", "--json", "-k", "100", "microvascular decompression", *args])
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)["results"]
    assert len(results) == real_service.info()["passages"]  # k beyond the index gives every passage
    assert any("decompression" in r["text"].casefold() for r in results[:3])


@pytest.mark.skipif(not DEV.is_file(), reason="shared/eval/dev.jsonl is not beside the checkout")
def test_cli_eval_over_the_dev_set(real_service):
    args = ["--corpus", str(DEFAULT_CORPUS), "--index", str(real_service.settings.index_dir)]
    result = CliRunner().invoke(qa.cli.cli, ["eval", "--json", str(DEV), *args])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    lines = [line for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert report["questions"] == len(lines) == report["in_scope"] + report["out_of_scope"]
    assert 0.0 <= report["hit_at_1"] <= report["hit_at_3"] <= 1.0
    assert all(set(m) >= {"id", "question", "problem", "quote", "confidence"} for m in report["misses"])
