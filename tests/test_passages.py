"""Passages: runs of whole sentences within one section, bounded by max_chars, covering every sentence."""

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.text.passages import chunk_document
from qa.text.sentences import SentenceSplitter
from tests.helpers import LIGHTHOUSE, REPEATED, document


def chunk(text: str, max_chars: int = 500, overlap: int = 1, fmt: str = "text"):
    doc = document(text, fmt)
    sentences, passages = chunk_document(doc, SentenceSplitter(), max_chars, overlap)
    return doc, sentences, passages


def test_sections_come_from_headings_and_passages_stay_in_them():
    doc, sentences, passages = chunk(LIGHTHOUSE)
    by_section = {p.section: doc.text[p.start : p.end] for p in passages}
    assert set(by_section) == {"Lamps and lenses", "Daily duties"}
    assert by_section["Lamps and lenses"].startswith("The Fresnel lens was invented")
    assert "Daily duties" not in by_section["Lamps and lenses"]
    assert sentences[0].section == "Lamps and lenses"


def test_chrome_and_duplicates_are_not_in_any_sentence():
    doc, sentences, _ = chunk(LIGHTHOUSE)
    texts = [doc.text[s.start : s.end] for s in sentences]
    assert not any("helpful" in t or "How can we help" in t or "OTHER LANGUAGES" in t for t in texts)
    first, second = REPEATED.split(". ", 1)
    assert texts.count(first + ".") == 1 and texts.count(second) == 1


def test_numbered_lines_are_their_own_sentences():
    doc, sentences, _ = chunk(LIGHTHOUSE)
    texts = [doc.text[s.start : s.end] for s in sentences]
    assert "1. Wind the clockwork that turns the lens" in texts
    assert "2. Trim the wick of the lamp before sunset" in texts


def test_overlap_shares_sentences_between_neighbours():
    text = " ".join(f"Sentence number {i} is here." for i in range(12))
    _, _, passages = chunk(text, max_chars=80, overlap=1)
    assert len(passages) > 2
    assert all(b.first == a.last - 1 for a, b in pairwise(passages))
    _, _, passages = chunk(text, max_chars=80, overlap=0)
    assert all(b.first == a.last for a, b in pairwise(passages))


def test_a_sentence_longer_than_max_chars_is_a_passage_alone():
    long = "This sentence is deliberately much longer than the tiny limit we set."
    _, _, passages = chunk(f"Short one. {long} Short two.", max_chars=20, overlap=0)
    assert [(p.first, p.last) for p in passages] == [(0, 1), (1, 2), (2, 3)]
    assert passages[1].end - passages[1].start == len(long)


def test_skipped_block_breaks_a_run():
    text = "First body sentence.\nHow can we help? How can we help?\nSecond body sentence."
    _, sentences, passages = chunk(text, max_chars=500)
    assert len(sentences) == 2
    assert [(p.first, p.last) for p in passages] == [(0, 1), (1, 2)]


def test_document_without_headings_has_no_section():
    _, sentences, passages = chunk("just some lowercase text. and more of it.")
    assert {s.section for s in sentences} == {p.section for p in passages} == {None}


# --- properties on arbitrary input -------------------------------------------------------------------------------

LINES = st.one_of(
    st.sampled_from(
        [
            "Daily Duties",
            "## Markdown Heading",
            "1. A numbered line",
            "How can we help? How can we help?",
            "IN OTHER LANGUAGES",
            REPEATED,
            "Barker et al. Showed that towers crack. Dr. Smith agreed.",
            "",
            "   ",
        ]
    ),
    st.lists(
        st.sampled_from(["The", "lamp", "is", "lit", "fog", "e.g.", "Dr.", "ships", "3.5", "."]),
        min_size=1,
        max_size=60,
    ).map(lambda ws: " ".join(ws) + "."),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=120),
)
DOCUMENTS = st.lists(LINES, max_size=25).flatmap(
    lambda lines: st.sampled_from(["\n", "\r\n", "\n\n"]).map(lambda nl: nl.join(lines))
)


@settings(max_examples=200, deadline=None)
@given(
    DOCUMENTS,
    st.sampled_from(["text", "markdown"]),
    st.integers(min_value=20, max_value=600),
    st.integers(min_value=0, max_value=3),
)
def test_sentences_and_passages_cover_the_text_with_exact_offsets(text, fmt, max_chars, overlap):
    doc, sentences, passages = chunk(text, max_chars, overlap, fmt)
    body = [(b.start, b.end) for b in doc.blocks if b.kind == "body"]
    headings = [(b.start, b.end) for b in doc.blocks if b.kind == "heading"]

    previous_end = 0
    for s in sentences:
        piece = doc.text[s.start : s.end]
        assert piece and piece == piece.strip()
        assert any(bs <= s.start and s.end <= be for bs, be in body), "sentence outside every body block"
        assert previous_end <= s.start, "sentences out of order or overlapping"
        previous_end = s.end

    covered = set()
    for p in passages:
        assert 0 <= p.first < p.last <= len(sentences)
        assert (p.start, p.end) == (sentences[p.first].start, sentences[p.last - 1].end)
        assert all(s.section == p.section for s in sentences[p.first : p.last])
        assert not any(p.start < hs < p.end for hs, _ in headings), "passage crosses a heading"
        assert p.end - p.start <= max_chars or p.last - p.first == 1
        covered.update(range(p.first, p.last))
    assert covered == set(range(len(sentences)))
    assert [p.first for p in passages] == sorted(p.first for p in passages)
