"""What the learned selector reads: features of each candidate sentence, and of the question's best one.

Every feature comes from what answering computes anyway (the sentence vectors of the index, the query's term
weights, the retrieval scores), so the selector adds no model pass to a question.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from qa.search.answertype import expected_types
from qa.search.mismatch import lacks_negation, lacks_number, numbers
from qa.search.retriever import Retriever, coverage
from qa.text.terms import terms

_WH = {
    "asks_who": re.compile(r"\bwho(?:m|se)?\b", re.I),
    "asks_when": re.compile(r"\bwhen\b|\bwhat (?:year|date|time|century)\b", re.I),
    "asks_where": re.compile(r"\bwhere\b", re.I),
    "asks_why": re.compile(r"\bwhy\b|\bwhat (?:causes|triggers|leads to)\b", re.I),
    "asks_how": re.compile(r"\bhow\b(?! (?:many|much)\b)", re.I),
    "asks_how_many": re.compile(r"\bhow (?:many|much)\b|\bwhat (?:number|amount)\b", re.I),
}
# The order of the columns; a model folder lists the names it was trained on and is refused if they differ.
CANDIDATE_FEATURES = (
    "dense",  # cosine of the sentence and the question
    "coverage",  # share of the question's term weight the sentence (and, at half weight, its heading) holds
    "relevance",  # its passage's retrieval score relative to the best passage's
    "typed",  # holds the kind of answer the question asks for
    "untyped",  # the question asks for a kind of answer (a number, a date, ...) and the sentence lacks it
    "dense_gap",  # its cosine minus the best candidate's
    "coverage_gap",  # its coverage minus the best candidate's
    "passage_rank",  # 1 / (1 + rank of its passage)
    "novelty",  # share of its content terms the question does not use: an answer says something new
    "length",  # log of its number of content terms
    "context_dense",  # best cosine of a neighbouring sentence of the same paragraph
    "context_coverage",  # coverage gained by adding the neighbouring sentences
    "opens_paragraph",  # no sentence of the same paragraph comes before it
    "lacks_negation",  # the question negates and the sentence does not
    "lacks_number",  # the question names a number the sentence does not hold
    "bigrams",  # share of the question's neighbouring term pairs that stand together in the sentence
    "numbers",  # log of how many numbers the sentence names
    "names",  # share of its words after the first that are capitalized (names of people, places, things)
    "explains",  # it states a cause or purpose ("because", "caused by", "due to", "in order to")
    *_WH,  # the question's kind, one-hot (none set: "what", "which" and the rest); the ranker learns what each wants
)
QUESTION_FEATURES = (
    "top_logit",  # the selector's logit of the best candidate
    "logit_gap",  # how far it leads the second best
    "top_dense",  # the best candidate cosine
    "top_coverage",  # the best candidate coverage
    "missing_specificity",  # how specific the question's words are that the corpus never mentions
    "quote_lacks_negation",  # the first quote lacks the question's negation
    "quote_lacks_number",  # the first quote lacks a number the question names
    "query_terms",  # log of the number of distinct query terms
    "quote_coverage",  # share of the question's term weight the first quote (with its context) holds
    "quote_missing",  # the largest weight of a question term the first quote lacks
)


_EXPLAINS = re.compile(
    r"\b(?:because|due to|caused by|causes?|result(?:s|ed)? (?:of|in|from)|leads? to|owing to|in order to|so that)\b",
    re.I,
)
_CAPITALIZED = re.compile(r"(?<=\s)[A-Z][\w-]*")


@dataclass
class Neighbourhood:
    """A candidate's neighbours in its paragraph, as the answerer finds them."""

    before: int | None
    after: int | None


def candidate_matrix(
    r: Retriever,
    query: str,
    query_vector: np.ndarray,
    query_terms: list[str],
    cands: list,
    neighbours: list[Neighbourhood],
    ranks: dict[int, int],
) -> np.ndarray:
    """One row of CANDIDATE_FEATURES per candidate (float32)."""
    weights = r.term_weights(query_terms)
    asked = set(query_terms)
    best_dense = max((c.dense for c in cands), default=0.0)
    best_coverage = max((c.coverage for c in cands), default=0.0)
    asks_type = bool(expected_types(query))
    pairs = set(pairwise(query_terms))
    kinds = tuple(float(bool(rx.search(query))) for rx in _WH.values())
    rows = []
    for c, near in zip(cands, neighbours, strict=True):
        own = r.sentence_terms(c.sentence)
        around = [n for n in (near.before, near.after) if n is not None]
        context_terms = own.union(*(r.sentence_terms(n) for n in around))
        text = r.sentence_text(c.sentence)
        rows.append(
            (
                c.dense,
                c.coverage,
                c.relevance,
                float(c.typed),
                float(asks_type and not c.typed),
                c.dense - best_dense,
                c.coverage - best_coverage,
                1.0 / (1.0 + ranks.get(c.passage, 0)),
                len(own - asked) / len(own) if own else 0.0,
                math.log1p(len(own)),
                max((float(r.sentence_vector(n) @ query_vector) for n in around), default=0.0),
                coverage(weights, context_terms) - coverage(weights, own),
                float(near.before is None),
                float(lacks_negation(query, text)),
                float(lacks_number(query, text)),
                len(pairs & set(pairwise(terms(text)))) / len(pairs) if pairs else 0.0,
                math.log1p(len(numbers(text))),
                len(_CAPITALIZED.findall(text)) / max(1, len(text.split()) - 1),
                float(bool(_EXPLAINS.search(text))),
                *kinds,
            )
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(CANDIDATE_FEATURES))


def question_row(
    logits: np.ndarray,
    top_dense: float,
    top_coverage: float,
    missing: float,
    query: str,
    quote: str,
    weights: dict[str, float],
) -> np.ndarray:
    """The QUESTION_FEATURES of a question: its candidates' logits best first, their best cosine and coverage, the
    missing specificity, the first quote, and the query's term weights."""
    top = float(logits[0])
    second = float(logits[1]) if len(logits) > 1 else top - 10.0
    held = set(terms(quote))
    return np.asarray(
        (
            top,
            top - second,
            top_dense,
            top_coverage,
            missing,
            float(lacks_negation(query, quote)),
            float(lacks_number(query, quote)),
            math.log1p(len(weights)),
            coverage(weights, held),
            max((w for t, w in weights.items() if t not in held), default=0.0),
        ),
        dtype=np.float32,
    )
