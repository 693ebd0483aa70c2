"""Mismatch checks: a quote that lacks the question's negation, or a number the question names."""

import pytest

from qa.search.mismatch import lacks_negation, lacks_number, numbers


@pytest.mark.parametrize(
    ("question", "quote", "expected"),
    [
        ("What is not a cause of the spasm?", "Compression of the nerve causes the spasm.", True),
        ("What is not a cause of the spasm?", "Stress does not cause the spasm.", False),
        ("Why can't the nerve heal?", "The nerve cannot heal once it is damaged.", False),
        ("Which drug never helps?", "Carbamazepine helps some patients.", True),
        ("What causes the spasm?", "Stress does not cause the spasm.", False),  # only the question's negation
        ("Is nothing known of its cause?", "Its cause is unknown.", True),
        ("What notes did the doctor keep?", "The doctor kept notes.", False),  # "not" inside a word
    ],
)
def test_lacks_negation(question, quote, expected):
    assert lacks_negation(question, quote) is expected


def test_numbers_are_normalised_and_exclude_ordinals_decades_and_codes():
    assert numbers("In 1107, 3,000 men (40%) marched 2.5 miles.") == {"1107", "3000", "40", "2.5"}
    assert numbers("the 19th century, the 1600s, H5N1 and COVID-19") == set()
    assert numbers("It ended in 1066.") == {"1066"}
    assert numbers("aged 40-60") == {"40", "60"}


@pytest.mark.parametrize(
    ("question", "quote", "expected"),
    [
        ("Who led the army against Dyrrachium in 1107?", "In 1081 Robert led the army against Dyrrachium.", True),
        ("Who led the army in 1081?", "In 1081 Robert led the army against Dyrrachium.", False),
        ("How many of the 3,000 men died?", "Of the 3000 men, 200 died.", False),
        ("How many men died?", "Of the 3000 men, 200 died.", False),  # no number asked about
        ("What happened in the 1600s?", "In 1650 the city grew.", False),
    ],
)
def test_lacks_number(question, quote, expected):
    assert lacks_number(question, quote) is expected
