"""The tuned numbers of retrieval and answering, as frozen parameter objects with the shipped values as defaults."""

from __future__ import annotations

from dataclasses import dataclass

# Benchmarks and tuning pass other values as `dataclasses.replace(RetrievalParams(), ...)`, which fails on a
# field that no longer exists, rather than assigning module globals.

# Requests may ask for at most this many quotes (`qa ask -k`, POST /api/ask "k") ...
MAX_QUOTES = 10
# ... and at most this many passages (`qa search -k`).
MAX_PASSAGES = 100


@dataclass(frozen=True)
class RetrievalParams:
    """How hybrid retrieval fuses dense and BM25 candidates and re-ranks the best of them."""

    # How many candidates each retriever contributes before fusion.
    depth: int = 100
    # How hybrid mode fuses the two lists: "convex" (weighted sum of per-query normalized scores, `normalize`
    # "minmax" or "zscore") or "rrf" (weighted reciprocal rank fusion); chosen on the dev splits, docs/QUALITY.md.
    fusion: str = "convex"
    normalize: str = "minmax"
    # Weight of the dense side (the BM25 side gets 1 - dense_weight).
    dense_weight: float = 0.5
    rrf_k: int = 60
    # Hybrid results are re-ranked by their best sentence: its cosine to the question (min-max over the
    # candidates) and the share of the question's IDF weight it holds. Chosen on the dev splits (docs/QUALITY.md E5).
    rerank_depth: int = 30
    rerank_dense: float = 0.3
    rerank_coverage: float = 0.2
    # A question word the index lacks is searched as the document word nearest to it by the model's cosine,
    # when that reaches this (0: never; qa/search/bridge.py, docs/QUALITY.md "Words the documents do not use").
    stand_in_cosine: float = 0.7
    # A sentence that says one form of an abbreviation the documents define ("hemifacial spasm (HFS)") holds the
    # other too, for term coverage (qa/search/abbreviations.py).
    abbreviations: bool = True


@dataclass(frozen=True)
class AnswerParams:
    """How sentences are scored and quoted, and when the answerer declines."""

    passages_considered: int = 8
    # Sentence score = weights of (sentence cosine, query-term coverage, passage score, expected answer type);
    # chosen on COVID-QA dev and dev.jsonl first quotes by `python -m bench.quality.tune_quotes` (docs/QUALITY.md E6).
    w_dense: float = 0.6
    w_lexical: float = 0.6
    w_passage: float = 0.6
    w_type: float = 0.35
    max_quote_chars: int = 600
    # A quote shorter than this takes its most relevant neighbour sentence as context.
    context_below_chars: int = 350
    # Decline below this confidence: the highest threshold of the coverage-versus-accuracy table that declines
    # at most about 2% of answerable development questions (docs/QUALITY.md, "Calibrated confidence").
    decline_below: float = 0.05
    # Answerability score: a linear score over the best sentence cosine, the best query-term coverage, how
    # specific the query words are that the corpus never mentions ("migraine", "neuralgia"), and whether the
    # first quote lacks the question's negation or a number it names (docs/QUALITY.md E12).
    conf_intercept: float = -8.0
    conf_weights: tuple[float, float, float, float, float] = (20.0, 4.0, -1.5, -3.0, -3.0)
    # Platt scaling of that score to P(the first quote answers the question), fitted on the development splits
    # by `python -m bench.quality.calibrate` (docs/QUALITY.md, "Calibrated confidence").
    platt_slope: float = 0.3658
    platt_intercept: float = -3.4061
    # Words rarer than this (Zipf scale, wordfreq) in general English name a specific thing.
    common_zipf: float = 4.5


# The shipped values, as the defaults of Retriever, Answerer and QAService (shared: the objects are frozen).
DEFAULT_RETRIEVAL = RetrievalParams()
DEFAULT_ANSWER = AnswerParams()
