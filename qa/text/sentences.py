"""Sentence splitting: NLTK Punkt trained on the corpus itself, plus a list of common abbreviations.

NLTK is imported when a splitter is made or trained, not with this module: importing it takes about a
second (it pulls in SciPy and scikit-learn), which a `qa build` with nothing to do must not pay.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktParameters

# Punkt learns abbreviations from the corpus; these are known up front because a small corpus
# may use them too rarely to learn.
ABBREVIATIONS = frozenset(
    """al e.g i.e etc cf vs approx ca dr mr mrs ms prof fig figs no nos vol pp ed eds st jr sr inc ltd co corp
    dept univ est min max mg ml kg mm cm km hr hrs sec u.s u.k a.m p.m jan feb mar apr jun jul aug sep sept
    oct nov dec resp viz ibid op cit ch sect eq eqs ref refs suppl""".split()
)
# Abbreviations that never end a sentence, even before a capital ("Barker et al. Showed that").
_NEVER_FINAL = re.compile(r"(?:\bet al|\be\.g|\bi\.e|\bcf|\bvs|\bDrs?|\bMrs?|\bMs|\bProf|\bFigs?|\bapprox)\.$", re.I)
_LEADING_JUNK = re.compile(r"[\s.;:,!?·•]+")
# A list number alone ("1." at the start of a numbered line) belongs to the sentence after it.
_LIST_NUMBER = re.compile(r"\(?\d{1,3}[.)]")
MAX_SENTENCE_CHARS = 1000
# A sentence longer than this is split after its semicolons into clauses of at least MIN_CLAUSE_CHARS: a
# run-on list ("a: ...; b: ...; c: ...") quotes better a clause at a time.
LONG_SENTENCE_CHARS = 400
MIN_CLAUSE_CHARS = 80
_CLAUSE_END = re.compile(r";\s+")
TRAIN_CHARS = 5_000_000


def train_params(texts: Iterable[str]) -> PunktParameters:
    """Punkt parameters learned from the given texts, with the abbreviation list added."""
    from nltk.tokenize.punkt import PunktTrainer

    trainer = PunktTrainer()
    budget = TRAIN_CHARS
    for text in texts:
        if budget <= 0:
            break
        trainer.train(text[:budget], finalize=False)
        budget -= len(text)
    trainer.finalize_training()
    params = trainer.get_params()
    # On a small corpus Punkt takes any word seen once before a period ("than men.") for an
    # abbreviation; keep only learned ones shaped like abbreviations: initials or dotted ("u.s").
    params.abbrev_types = {a for a in params.abbrev_types if len(a) == 1 or "." in a} | ABBREVIATIONS
    return params


def params_to_dict(params: PunktParameters) -> dict:
    """A JSON-safe form of Punkt parameters, stored in the index."""
    return {
        "abbrev_types": sorted(params.abbrev_types),
        "collocations": sorted([a, b] for a, b in params.collocations),
        "sent_starters": sorted(params.sent_starters),
        "ortho_context": dict(sorted(params.ortho_context.items())),
    }


def params_from_dict(data: dict) -> PunktParameters:
    """Punkt parameters from params_to_dict output."""
    from nltk.tokenize.punkt import PunktParameters

    params = PunktParameters()
    params.abbrev_types = set(data["abbrev_types"])
    params.collocations = {tuple(pair) for pair in data["collocations"]}
    params.sent_starters = set(data["sent_starters"])
    params.ortho_context = defaultdict(int, data["ortho_context"])
    return params


class SentenceSplitter:
    """Splits a span of text into sentence spans (absolute offsets)."""

    def __init__(self, params: PunktParameters | None = None) -> None:
        from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

        if params is None:
            params = PunktParameters()
            params.abbrev_types.update(ABBREVIATIONS)
        self.tokenizer = PunktSentenceTokenizer(params)

    def split(self, text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """Sentence spans inside text[start:end], trimmed of surrounding space and stray punctuation."""
        end = len(text) if end is None else end
        chunk = text[start:end]
        spans: list[list[int]] = []
        for s, e in self.tokenizer.span_tokenize(chunk):
            junk = _LEADING_JUNK.match(chunk, s)
            if junk:
                s = junk.end()
            if s >= e:
                continue
            if spans and (
                _NEVER_FINAL.search(chunk, spans[-1][0], spans[-1][1])
                or _LIST_NUMBER.fullmatch(chunk, spans[-1][0], spans[-1][1])
            ):
                spans[-1][1] = e
            else:
                spans.append([s, e])
        out: list[tuple[int, int]] = []
        for s, e in spans:
            for cs, ce in _clauses(chunk, s, e):
                out.extend(_bounded(chunk, cs, ce))
        return [(start + s, start + e) for s, e in out]


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A long sentence split after semicolons, no clause shorter than MIN_CLAUSE_CHARS."""
    if end - start <= LONG_SENTENCE_CHARS:
        return [(start, end)]
    pieces, begin = [], start
    for m in _CLAUSE_END.finditer(text, start, end):
        if m.start() + 1 - begin >= MIN_CLAUSE_CHARS and end - m.end() >= MIN_CLAUSE_CHARS:
            pieces.append((begin, m.start() + 1))
            begin = m.end()
    pieces.append((begin, end))
    return pieces


def _bounded(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a run-on 'sentence' longer than MAX_SENTENCE_CHARS at spaces, so passages stay bounded."""
    pieces = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        if cut == -1:
            cut = start + MAX_SENTENCE_CHARS
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1  # a cut inside a run of spaces must not leave them on the piece
        pieces.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces
