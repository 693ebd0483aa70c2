"""Sentence spans: Punkt with known abbreviations, absolute offsets, bounded length."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.text.sentences import (
    ABBREVIATIONS,
    LONG_SENTENCE_CHARS,
    MAX_SENTENCE_CHARS,
    SentenceSplitter,
    params_from_dict,
    params_to_dict,
    train_params,
)


def sentences(text: str, splitter: SentenceSplitter | None = None) -> list[str]:
    return [text[s:e] for s, e in (splitter or SentenceSplitter()).split(text)]


def test_plain_sentences_and_offsets():
    text = "  The lamp is lit. Is the fog thick? Yes!  "
    spans = SentenceSplitter().split(text)
    assert [text[s:e] for s, e in spans] == ["The lamp is lit.", "Is the fog thick?", "Yes!"]
    assert spans[0] == (2, 18)


def test_et_al_inside_a_sentence_does_not_end_it():
    text = "In 2001 Barker et al. Showed that age was not related to outcome. A second study followed."
    assert sentences(text) == [
        "In 2001 Barker et al. Showed that age was not related to outcome.",
        "A second study followed.",
    ]


def test_other_never_final_abbreviations():
    text = "Dr. Smith met Prof. Jones, e.g. Twice a year. They cf. Figs. Three and four. End here."
    assert sentences(text) == [
        "Dr. Smith met Prof. Jones, e.g. Twice a year.",
        "They cf. Figs. Three and four.",
        "End here.",
    ]


def test_list_number_stays_with_its_item():
    assert sentences("1. Wind the clockwork that turns the lens") == ["1. Wind the clockwork that turns the lens"]
    assert sentences("It was built in 1822. Then it fell.") == ["It was built in 1822.", "Then it fell."]


def test_a_long_run_on_list_is_split_after_its_semicolons():
    items = [
        "materials inserted: a gelatin sponge may be absorbed after insertion and the vessel then returns to "
        "press on the nerve where it leaves the brainstem, as it did before the operation",
        "implants fall off: if the pad is not placed well before the skull is closed it can drift away from the "
        "nerve during healing",
        # "x": too short a clause to stand alone
        "adhesions that form after the operation, months or years later, can compress the nerve again; x",
    ]
    text = "Recurrence has several causes. " + "; ".join(items) + " Short; list."
    assert len(text) - len("Recurrence has several causes. ") > LONG_SENTENCE_CHARS
    assert sentences(text) == [
        "Recurrence has several causes.",
        items[0] + ";",
        items[1] + ";",
        items[2] + " Short; list.",
    ]


def test_a_sentence_below_the_long_limit_keeps_its_semicolons():
    text = "The lamp was lit at dusk; the keeper wound the clockwork; the fog bell rang until the morning came."
    assert len(text) < LONG_SENTENCE_CHARS and sentences(text) == [text]


def test_offsets_are_absolute_within_a_range():
    text = "Heading\nFirst one here. Second one here.\nTail."
    start = text.index("First")
    end = text.index("\nTail")
    spans = SentenceSplitter().split(text, start, end)
    assert [text[s:e] for s, e in spans] == ["First one here.", "Second one here."]
    assert all(start <= s < e <= end for s, e in spans)


def test_leading_stray_punctuation_is_not_part_of_a_sentence():
    text = "Months later it healed. . In the analysis of its factors, age mattered."
    assert sentences(text) == ["Months later it healed.", "In the analysis of its factors, age mattered."]


def test_run_on_text_is_cut_into_bounded_pieces_at_spaces():
    text = " ".join(f"word{i}" for i in range(600))  # one 'sentence' of about 4,000 characters
    spans = SentenceSplitter().split(text)
    assert len(spans) > 1
    assert all(e - s <= MAX_SENTENCE_CHARS for s, e in spans)
    pieces = [text[s:e] for s, e in spans]
    assert " ".join(pieces) == text
    assert all(p == p.strip() for p in pieces)


def test_run_on_text_with_runs_of_spaces_gives_stripped_pieces():
    text = "   ".join(f"word{i}" for i in range(600))
    pieces = sentences(text)
    assert all(p and p == p.strip() for p in pieces)
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)


def test_unbroken_text_is_cut_hard():
    text = "x" * (2 * MAX_SENTENCE_CHARS + 10)
    assert [len(p) for p in sentences(text)] == [MAX_SENTENCE_CHARS, MAX_SENTENCE_CHARS, 10]


def test_trained_params_keep_abbreviations_and_survive_json():
    corpus = ["The ship sailed at 5 p.m. on Tuesday. It reached the port at dawn. Capt. Ahab waved."] * 3
    params = train_params(corpus)
    assert params.abbrev_types >= ABBREVIATIONS
    data = json.loads(json.dumps(params_to_dict(params)))
    restored = params_from_dict(data)
    assert restored.abbrev_types == params.abbrev_types
    assert restored.collocations == params.collocations
    assert restored.sent_starters == params.sent_starters
    text = corpus[0] + " Then it sank."
    assert SentenceSplitter(restored).split(text) == SentenceSplitter(params).split(text)


WORDS = st.sampled_from(
    ["the", "Lamp", "et al.", "e.g.", "Dr.", "U.S.", "fog", "3.5", "ships", "...", "?", "!", ".", ";", "(a)", "É", "ß"]
)
SEPARATORS = st.sampled_from([" ", "  ", "\n", ". ", "\t", "\u00a0", "\r\n", ""])
TEXTS = st.one_of(
    st.lists(st.tuples(WORDS, SEPARATORS), max_size=80).map(lambda parts: "".join(w + s for w, s in parts)),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300),
)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.data())
def test_sentence_spans_are_ordered_stripped_and_within_range(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    spans = SentenceSplitter().split(text, start, end)
    previous_end = start
    for s, e in spans:
        assert previous_end <= s < e <= end
        piece = text[s:e]
        assert piece == piece.strip() and piece
        previous_end = e
