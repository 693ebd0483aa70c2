"""Expected answer types: a question asking "how long" wants a duration, "what rate" a percentage."""

from __future__ import annotations

import re

_NUMBER_WORD = r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few|several)"
_UNIT = r"(?:years?|months?|weeks?|days?|hours?|minutes?|min|seconds?|decades?)"
# (question pattern, pattern of a sentence that holds such an answer)
_TYPES: list[tuple[re.Pattern, re.Pattern]] = [
    (
        re.compile(r"\bhow (?:long|soon)\b|\bduration\b|\bfor how many\b|\bhow much time\b", re.I),
        re.compile(rf"\b{_NUMBER_WORD}\s*(?:(?:to|-|–|or)\s*{_NUMBER_WORD}\s*)?{_UNIT}\b", re.I),
    ),
    (
        re.compile(r"\bhow old\b|\bwhat age\b|\b(?:youngest|oldest)\b|\bat what age\b", re.I),
        re.compile(
            rf"\b{_NUMBER_WORD}\s*years?\s*old\b|\bage[sd]?\s+(?:of\s+)?\d+|\b(?:middle|old|young)\s+age\b", re.I
        ),
    ),
    (
        re.compile(
            r"\b(?:rate|percentage|percent|proportion|fraction|how (?:common|likely|often|effective|successful))\b",
            re.I,
        ),
        re.compile(r"\d\s*%|\bper ?cent\b|\b\d+\s+(?:in|out of)\s+\d+\b", re.I),
    ),
    (
        # "Which X most often ...?" is answered by a sentence naming the main or most common X.
        re.compile(
            r"\b(?:most (?:often|common(?:ly)?|frequent(?:ly)?|likely)|main(?:ly)?|usual(?:ly)?|typical(?:ly)?|"
            r"primar(?:y|ily)|predominant(?:ly)?|chief(?:ly)?)\b",
            re.I,
        ),
        re.compile(
            r"\b(?:main(?:ly)?|most (?:common(?:ly)?|often|frequent(?:ly)?)|majority|predominant(?:ly)?|"
            r"primar(?:y|ily)|usual(?:ly)?|typical(?:ly)?|mostly|leading|chief(?:ly)?)\b|\d\s*%",
            re.I,
        ),
    ),
    (
        re.compile(r"\bhow many\b|\bhow much\b|\bnumber of\b|\b(?:dose|dosage)\b", re.I),
        re.compile(r"\b\d+(?:[.,]\d+)?\b"),
    ),
    (
        re.compile(r"\bwhen\b|\bwhat year\b|\bwhich year\b|\bsince when\b", re.I),
        re.compile(r"\b(?:1[5-9]\d\d|20\d\d)\b|\b(?:after|before|during|within)\b", re.I),
    ),
]


_DEFINITION_Q = re.compile(
    r"^\s*(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?P<x>[^?]{2,60}?)\s*\??\s*$", re.I
)
_DEFINES = (
    r"(?:,[^,.]{0,80},\s*)?(?:\([^)]{1,30}\)\s*)?"  # an aside: ", also known as Y," or "(HFS)"
    r"(?:refers? to|is defined as|(?:is |are )?(?:also )?(?:known|called) as|is an?\b|are\b|is\b)"
)


def expected_types(question: str) -> list[re.Pattern]:
    """Patterns of text that would answer the question's type, if it asks for one."""
    found = [answer for ask, answer in _TYPES if ask.search(question)]
    definition = _DEFINITION_Q.match(question)
    if definition and len(definition["x"].split()) <= 5:
        # "What is X?" is answered by a sentence that opens by defining X.
        subject = r"\W+".join(re.escape(w) for w in re.findall(r"\w+", definition["x"]))
        found.append(re.compile(rf"^\W*(?:the\s+)?{subject}\w*\s*{_DEFINES}", re.I))
    return found


def matches_type(text: str, patterns: list[re.Pattern]) -> bool:
    """Whether the text holds an answer of one of the expected types."""
    return any(p.search(text) for p in patterns)
