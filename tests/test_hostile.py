"""Hostile or broken documents are reported or handled, never crash a build; arbitrary input is ingested safely."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.errors import CorpusError
from qa.http.app import create_app
from qa.ingest.corpus import FORMATS, read_document
from qa.testing import GOOD, SCRIPT_HTML, hostile_corpus, write_files
from tests.helpers import make_pdf, make_service


def test_a_corpus_of_hostile_documents_builds_reports_each_and_leaks_nothing(tmp_path):
    corpus = hostile_corpus(tmp_path / "corpus", tmp_path / "outside")
    service = make_service(corpus, tmp_path / "index", max_file_mb=1)
    report = service.build()
    problems = {p.path: p.message for p in report.problems}
    assert set(problems) == {
        "binary.txt",
        "latin1.md",
        "empty.txt",
        "blank.md",
        "big.txt",
        "fake.pdf",
        "outside-file.txt",
        "dangling.md",
        "loop.txt",
    }
    assert "binary" in problems["binary.txt"] and "UTF-8" in problems["latin1.md"]
    assert "QA_MAX_FILE_MB" in problems["big.txt"] and "outside" in problems["outside-file.txt"]
    indexed = set(service.load().retriever.doc_index)
    assert indexed == {"good.txt", "long-line.txt", "no-spaces.txt", "scripts.html", "control.txt"}
    assert not any("secret" in d or "outside" in d for d in indexed)  # the linked folder is not walked either
    text = service.document("scripts.html")["text"]
    assert "Storm petrels feed on plankton far out at sea." in text
    for payload in ("alert", "pwned", "onload", "onclick", "javascript:", "display: none", "Enable scripts"):
        assert payload not in text
    answer = service.ask("What do storm petrels feed on?")
    assert not answer.abstained and "plankton" in answer.citations[0].quote
    assert service.build().problems  # the next build reports them again, and does not fail either


def test_the_source_page_of_a_document_with_markup_runs_nothing(tmp_path):
    corpus = write_files(tmp_path / "corpus", {"markup.txt": f"Markup\n{SCRIPT_HTML}\n"})
    service = make_service(corpus, tmp_path / "index")
    service.build()
    page = create_app({"QA_SERVICE": service}).test_client().get("/source/markup.txt").get_data(as_text=True)
    assert "<script>alert" not in page and "onload=" not in page.replace("onload=&#34;", "")
    assert "&lt;script&gt;alert(&#39;head&#39;)&lt;/script&gt;" in page


SUFFIXES = sorted(FORMATS)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=400)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SUFFIXES), st.one_of(st.binary(max_size=600), TEXT.map(str.encode)))
def test_any_bytes_in_any_format_give_a_document_or_a_corpus_error(tmp_path, suffix, data):
    path = tmp_path / f"doc{suffix}"
    path.write_bytes(data)
    try:
        doc = read_document(path, path.name)
    except CorpusError as exc:
        assert str(exc)
        return
    assert doc.text.strip() and doc.title
    assert all(0 <= b.start < b.end <= len(doc.text) for b in doc.blocks)
    assert any(b.kind == "body" for b in doc.blocks)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TEXT, min_size=1, max_size=4), st.sampled_from([".txt", ".md", ".html"]))
def test_building_any_texts_never_crashes_and_quotes_are_exact(tmp_path_factory, texts, suffix):
    root = tmp_path_factory.mktemp("any")
    corpus = write_files(root / "corpus", {f"d{i}{suffix}": t for i, t in enumerate([*texts, GOOD])})
    service = make_service(corpus, root / "index")
    report = service.build()
    assert report.documents + len(report.problems) == len(texts) + 1
    for query in [*texts[:2], "Fresnel lens"]:
        if not query.strip():
            continue
        _, results = service.search(query, k=3)
        for r in results:
            assert service.document(r.doc_id)["text"][r.start : r.end] == r.text


def test_a_pdf_among_hostile_files_is_read(tmp_path):
    corpus = write_files(tmp_path / "corpus", {"ok.pdf": make_pdf(["Puffins nest in burrows on cliff tops."])})
    (corpus / "bad.pdf").write_bytes(make_pdf(["x"])[:60])
    report = make_service(corpus, tmp_path / "index").build()
    assert report.documents == 1 and [p.path for p in report.problems] == ["bad.pdf"]
