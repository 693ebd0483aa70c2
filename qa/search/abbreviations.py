"""Abbreviations the documents define ("hemifacial spasm (HFS)"), so either form of a term finds the other.

Medical and scientific writing names a term in full once and then abbreviates it: the article on hemifacial spasm
says "HFS" in 32 places and "hemifacial spasm" in 22. A question says either, so a sentence that uses the other
form loses that share of the question in the answer step's term coverage and in the re-ranking of passages by
their best sentence (BM25 searches the question as worded: docs/QUALITY.md, "Abbreviations the documents
define"). The definitions are found by the Schwartz-Hearst rule (Schwartz and Hearst, "A simple algorithm for
identifying abbreviation definitions in biomedical text", PSB 2003): a short form in parentheses whose characters
occur in order in the words just before it, its first character starting a word.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass, field

from qa.text.terms import terms

# A parenthesis holding one token: "(HFS)", "(MERS-CoV)", "(SARS-CoV-2)".
_PARENTHESIS = re.compile(r"\(\s*([^\W_][\w.'’-]{1,11})\s*\)")
_LOWER_WORD = re.compile(r"(?<![\w-])[a-z][a-z0-9]*(?![\w])")
# The long form is looked for after the last of these before the parenthesis.
_CLAUSE_END = re.compile(r"[.;:!?\[\]()]\s")


@dataclass(frozen=True)
class Definition:
    """A short form and the long form it abbreviates, each as its stemmed content terms."""

    short: tuple[str, ...]
    long: tuple[str, ...]


def is_short_form(token: str) -> bool:
    """Whether a parenthesised token looks like an abbreviation: 2-12 characters with a capital letter, and not a
    roman numeral."""
    letters = [c for c in token if c.isalpha()]
    if len(token) < 2 or not letters or not any(c.isupper() for c in letters):
        return False
    return not re.fullmatch(r"[IVXLC]+", token)


def long_form(short: str, before: str) -> str | None:
    """The words at the end of `before` that `short` abbreviates, or None (Schwartz-Hearst's best long form)."""
    s, i = len(short) - 1, len(before) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        # The first character of the short form must start a word of the long form.
        while i >= 0 and (before[i].lower() != c or (s == 0 and i > 0 and before[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    start = before.rfind(" ", 0, i + 1) + 1
    return before[start:].strip()


def definitions(text: str) -> Iterator[tuple[str, Definition]]:
    """Each abbreviation a text defines as "long form (SHORT)", with the short form as written."""
    for m in _PARENTHESIS.finditer(text):
        short = m.group(1).strip(".")
        if not is_short_form(short):
            continue
        clause = text[max(0, m.start() - 300) : m.start()]
        ends = list(_CLAUSE_END.finditer(clause))
        clause = clause[ends[-1].end() :] if ends else clause
        # At most min(|A| + 5, 2|A|) words, as in Schwartz-Hearst.
        window = " ".join(clause.split()[-min(len(short) + 5, 2 * len(short)) :])
        found = long_form(short, window)
        if not found or len(found) <= len(short) or short.lower() in found.lower().split():
            continue
        short_terms, long_terms = _parts(short), _parts(found)
        if short_terms and long_terms and not set(short_terms) & set(long_terms):
            yield short, Definition(short_terms, long_terms)


@dataclass
class Aliases:
    """The abbreviations a collection defines, each short form with its commonest long form."""

    definitions: list[Definition] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Indexed by a term each side holds, so expanding a sentence looks only at definitions it may match.
        self._by_term: dict[str, list[Definition]] = defaultdict(list)
        for d in self.definitions:
            for t in {d.short[0], d.long[0]}:
                self._by_term[t].append(d)

    @classmethod
    def of(cls, texts: Iterable[str]) -> Aliases:
        """The definitions the texts make; a short form defined more than one way keeps its commonest meaning, and
        one the texts also write in lower case as a word of its own is left out."""
        texts = list(texts)
        counts = Counter((short, d) for text in texts for short, d in definitions(text))
        ordinary = lower_case_words(texts)
        best: dict[tuple[str, ...], Definition] = {}
        for (short, d), _ in sorted(counts.items(), key=lambda item: (-item[1], item[0][1].short, item[0][1].long)):
            if short.lower() not in ordinary:
                best.setdefault(d.short, d)
        return cls(sorted(best.values(), key=lambda d: (d.short, d.long)))

    def __len__(self) -> int:
        return len(self.definitions)

    def groups(self, held: Set[str]) -> list[tuple[str, ...]]:
        """Each abbreviation `held` names by either form, as the terms of both forms."""
        found = {d for t in held for d in self._by_term.get(t, ()) if set(d.short) <= held or set(d.long) <= held}
        return [d.short + d.long for d in sorted(found, key=lambda d: (d.short, d.long))]

    def added(self, held: Set[str]) -> list[str]:
        """The terms that `held` stands for besides its own: a short form's long form and a long form's short."""
        return list(dict.fromkeys(t for group in self.groups(held) for t in group if t not in held))


def _parts(text: str) -> tuple[str, ...]:
    """The distinct terms of a text, a hyphenated word by its parts only (a question may write it apart)."""
    return tuple(dict.fromkeys(t for t in terms(text) if "-" not in t))


def lower_case_words(texts: Iterable[str]) -> set[str]:
    """The words the texts write in lower case: a short form among them is also an ordinary word ("stem")."""
    return {w for text in texts for w in _LOWER_WORD.findall(text)}
