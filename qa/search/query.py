"""Turning a question and its conversation history into the query that is searched."""

from __future__ import annotations

import re

from qa.text.terms import is_query_content, words

# Words that point back to something said earlier.
_ANAPHORA = re.compile(
    r"\b(?:it|its|it's|itself|this|that|these|those|they|them|their|theirs|he|she|him|her|his|"
    r"the (?:disease|condition|disorder|illness|problem|procedure|operation|surgery|treatment|drug|symptoms?))\b",
    re.IGNORECASE,
)
# A question that opens by continuing the last one ("And the side effects?", "What about surgery?") is elliptical:
# what it asks about was said before, whatever words it has of its own.
_CONTINUES = re.compile(r"^\W*(?:and|also|what about|how about|what of|same for|as for)\b", re.IGNORECASE)
# Fewer content words than this and a question is taken as leaning on the conversation.
MIN_OWN_WORDS = 2
_VAGUE = frozenset(["else", "more", "other", "another", "one", "thing", "things", "something", "anything"])


def content_words(text: str) -> list[str]:
    """The words of a text that say what it is about (no stopwords or question words), in order."""
    seen: list[str] = []
    for w in words(text):
        if not is_query_content(w) or w in _VAGUE:
            continue
        if w not in seen:
            seen.append(w)
    return seen


def leans_on_history(question: str) -> bool:
    """Whether a question needs earlier turns to be understood."""
    return (
        bool(_ANAPHORA.search(question) or _CONTINUES.match(question)) or len(content_words(question)) < MIN_OWN_WORDS
    )


def topic(history: list[str]) -> list[str]:
    """The content words of the latest self-contained earlier turn (follow-ups pass through to theirs)."""
    for turn in reversed(history):
        found = content_words(turn)
        if found and not leans_on_history(turn):
            return found
    for turn in reversed(history):
        if content_words(turn):
            return content_words(turn)
    return []


def resolve(question: str, history: list[str] | None = None) -> str:
    """The search query: the question, plus the conversation's topic when the question leans on it."""
    question = " ".join(question.split())
    if not history or not leans_on_history(question):
        return question
    own = set(content_words(question))
    extra = [w for w in topic(history) if w not in own]
    return f"{question} ({' '.join(extra)})" if extra else question
