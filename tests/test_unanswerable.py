"""Questions made unanswerable for the selector's answerability training (train/unanswerable.py)."""

import random

from train.unanswerable import ANTONYM, unanswerable

POSITIVE = "The first king of Norway was Harald Fairhair, crowned in 872."
OTHERS = ["Olaf Tryggvason ruled from 995.", "The Vikings raided England."]


def _all_changes(question: str, positive: str = POSITIVE, others: list[str] = OTHERS) -> set[str | None]:
    return {unanswerable(question, positive, others, random.Random(seed)) for seed in range(40)}


def test_a_name_or_number_the_answer_holds_is_swapped_for_one_of_another_sentence():
    question = "In what year did Harald Fairhair take Norway?"
    changed = _all_changes(question)
    assert {
        "In what year did Harald Tryggvason take Norway?",
        "In what year did England Fairhair take Norway?",
    } < changed
    # "Olaf" starts its sentence (not known to be a name); "take" is no name, number or antonym.
    assert not any("Olaf" in q for q in changed) and all(" take " in q for q in changed)


def test_a_word_the_answer_holds_is_swapped_for_its_antonym_and_questions_are_negated():
    changed = _all_changes("Who was the first king of Norway?")
    assert "Who was the last king of Norway?" in changed
    assert "Who was not the first king of Norway?" in changed
    assert ANTONYM["last"] == "first" and ANTONYM["first"] == "last"


def test_words_the_answer_does_not_hold_are_left_and_some_questions_cannot_be_changed():
    # "largest" is not in the answer sentence: swapping it would not make the sentence a non-answer.
    assert "Who was the smallest king of Norway?" not in _all_changes("Who was the largest king of Norway?")
    # No name, number or antonym the answer holds, no auxiliary to negate, and a question already negated.
    assert _all_changes("Who attended the coronation?") == {None}
    assert _all_changes("Who did not attend the coronation?") == {None}


def test_the_change_is_the_same_for_the_same_seed():
    q = "In what year was Harald Fairhair crowned king of Norway?"
    assert unanswerable(q, POSITIVE, OTHERS, random.Random(3)) == unanswerable(q, POSITIVE, OTHERS, random.Random(3))
