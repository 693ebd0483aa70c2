"""Lexical terms: the one tokenizer and content-word rule that BM25, answer scoring and follow-up handling share."""

from __future__ import annotations

import re
from functools import cache, lru_cache

# A token: letters and digits, joined by hyphens or apostrophes ("follow-up", "don't").
_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
# A word as prose counts them: joined by apostrophes only, so "follow-up" is two (the corpus reader's rule).
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
    few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself
    him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own same shan't
    she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then
    there there's these they they'd they'll they're they've this those through to too under until up very was
    wasn't we we'd we'll we're we've were weren't what what's when when's where where's which while who who's
    whom why why's with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
    also may might must shall will just s t d ll m o re ve y etc""".split()
)
# Words that ask rather than say: they carry no content to match.
QUESTION_WORDS = frozenset("what which who whom whose when where why how does do did is are can could".split())


@cache
def load_stemmer():
    """The Snowball stemmer, made on first use: importing NLTK takes about a second, which a no-change
    `qa build` must not pay (a served worker calls this when it loads the index, not on a question)."""
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball stem of a lower-case word (cached: corpora repeat words)."""
    return load_stemmer().stem(word)


def words(text: str) -> list[str]:
    """Lower-case word tokens, hyphenated words kept whole and also split."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        token = token.replace("’", "'")
        out.append(token)
        if "-" in token:
            out.extend(part for part in token.split("-") if part)
    return out


def is_content(word: str) -> bool:
    """Whether a lower-case word says something: not a stopword, nor a single letter (a single digit is kept)."""
    return word not in STOPWORDS and not (len(word) == 1 and not word.isdigit())


def is_query_content(word: str) -> bool:
    """A content word of a question: not a question word either, nor a hyphenated whole (its parts count)."""
    return is_content(word) and word not in QUESTION_WORDS and "-" not in word


def terms(text: str) -> list[str]:
    """Stemmed content terms of a text, stopwords removed, in order (repeats kept)."""
    return [stem(w) for w in words(text) if is_content(w)]


def term_set(text: str) -> set[str]:
    """The distinct content terms of a text."""
    return set(terms(text))
