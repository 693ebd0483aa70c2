"""What a question asks about that a quote plainly lacks: the question's negation, or a number it names."""

from __future__ import annotations

import re

# "What is not a cause ...?" is answered by a sentence that itself negates, not by one that states the cause.
_NEGATION = re.compile(r"\b(?:not|never|no|none|nobody|nothing|neither|nor|cannot)\b|n't\b", re.IGNORECASE)
# A number standing alone ("1107", "3,000", "40%", "10-20"), not part of a word or a name ("19th", "1600s",
# "H5N1", "COVID-19").
_NUMBER = re.compile(r"(?<![\w.,])(?<![^\W\d]-)\d[\d,.]*(?!\w)")


def numbers(text: str) -> set[str]:
    """The numbers a text names, with thousands separators and a closing full stop dropped."""
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def lacks_negation(question: str, quote: str) -> bool:
    """The question negates and the quote does not."""
    return bool(_NEGATION.search(question)) and not _NEGATION.search(quote)


def lacks_number(question: str, quote: str) -> bool:
    """The question names a number the quote does not hold."""
    return bool(numbers(question) - numbers(quote))
