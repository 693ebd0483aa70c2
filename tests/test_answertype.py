"""Expected answer types: which questions ask for one, and which sentences hold it."""

import pytest

from qa.search.answertype import expected_types, matches_type


@pytest.mark.parametrize(
    ("question", "answer", "other"),
    [
        ("How long does the toxin keep working?", "The effect lasts 3 to 4 months.", "The toxin is injected."),
        ("At what age does it start?", "It starts in middle age.", "It starts on one side."),
        ("What is the recurrence rate?", "Recurrence is 4% -12%.", "Recurrence is rare."),
        ("How many patients were treated?", "In all 120 patients were treated.", "Patients were treated."),
        ("When was the surgery proposed?", "It was proposed in 1966.", "It was proposed by Jannetta."),
        (
            "Which arteries most often compress the nerve?",
            "AICA and PICA are the main factors.",
            "SCA may compress it.",
        ),
        ("What is the usual treatment?", "Injections are typically used first.", "Surgery is an option."),
        ("What is hemifacial spasm?", "Hemifacial spasm (HFS) is an involuntary twitch.", "HFS affects one side."),
    ],
)
def test_a_typed_question_matches_sentences_holding_its_answer(question, answer, other):
    types = expected_types(question)
    assert types and matches_type(answer, types) and not matches_type(other, types)


def test_an_untyped_question_expects_nothing():
    assert expected_types("Why does the face twitch?") == []
    assert expected_types("Which nerve is affected in hemifacial spasm?") == []
