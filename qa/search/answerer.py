"""Extractive answers: the best sentences of the top passages, quoted verbatim with citations."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from qa.search.answertype import expected_types, matches_type
from qa.search.features import Neighbourhood, candidate_matrix, question_row
from qa.search.mismatch import lacks_negation, lacks_number
from qa.search.params import DEFAULT_ANSWER, AnswerParams
from qa.search.rerank import CrossSelector
from qa.search.retriever import Hit, Retriever, coverage
from qa.search.selector import Selector, sigmoid
from qa.text.terms import is_query_content, stem, terms, words

NOT_FOUND = "I could not find an answer to that in these documents."
# A sentence that opens by pointing back ("It", "This", "However") is quoted with the one before it.
_LEANS_BACK = re.compile(
    r"^(?:it|its|this|these|those|they|their|such|however|but|therefore|thus|then|so|"
    r"also|in addition|the reason|he|she|which)\b",
    re.IGNORECASE,
)


@dataclass
class Citation:
    """One verbatim quote and where it stands in its source."""

    id: int
    doc_id: str
    title: str
    section: str | None
    quote: str
    start: int
    end: int
    score: float


@dataclass
class Answer:
    """The answer to one question: quotes with citations, or a decline."""

    question: str
    search_query: str
    abstained: bool
    answer: str
    index_version: str
    confidence: float = 0.0
    citations: list[Citation] = field(default_factory=list)
    shards_missing: list[str] = field(default_factory=list)  # shards of a served cluster that did not answer

    def to_dict(self) -> dict:
        """The stable JSON form shared by the CLI and the API; "partial" and "shards_missing" only when some
        shards of a cluster did not answer (the quotes then come from the others)."""
        out = asdict(self)
        missing = out.pop("shards_missing")
        if missing:
            out.update(partial=True, shards_missing=missing)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Answer:
        """The answer to_dict gave (an answer that came over the network)."""
        fields = {k: v for k, v in data.items() if k not in ("citations", "partial")}
        return cls(**fields, citations=[Citation(**c) for c in data.get("citations", [])])


@dataclass
class Candidate:
    """A sentence of a top passage with the features it is scored by."""

    sentence: int
    passage: int
    dense: float  # cosine of the sentence and the question
    coverage: float  # share of the question's term weight the sentence holds
    relevance: float  # its passage's retrieval score, relative to the best passage's
    typed: bool  # holds the kind of answer the question asks for ("how long": a duration)
    score: float = 0.0
    cross: float | None = None  # the cross-encoder selector's cosine, for the candidates it re-scored

    def rescore(self, params: AnswerParams) -> float:
        """The sentence score from its features, under the params' w_* weights."""
        self.score = (
            params.w_dense * self.dense
            + params.w_lexical * self.coverage
            + params.w_passage * self.relevance
            + (params.w_type * self.relevance if self.typed else 0.0)
        )
        return self.score


class Answerer:
    """Picks and quotes sentences from retrieved passages, or declines."""

    def __init__(
        self,
        retriever: Retriever,
        params: AnswerParams = DEFAULT_ANSWER,
        selector: Selector | CrossSelector | None = None,
    ) -> None:
        self.r = retriever
        self.params = params
        self.selector = selector  # None: the hand-weighted sentence score decides alone
        a = retriever.data.arrays
        self.s_doc, self.s_start, self.s_end = a.s_doc, a.s_start, a.s_end
        from wordfreq import zipf_frequency

        zipf_frequency("answer", "en")  # reads the word list now (0.2 s), not during the first question

    def candidates(
        self, query: str, query_vector: np.ndarray, query_terms: list[str], hits: list[Hit]
    ) -> list[Candidate]:
        """Sentences of the top passages, scored against the query, best first."""
        types = expected_types(query)
        weights = self.r.term_weights(query_terms)
        top = hits[: self.params.passages_considered]
        best_hit = max((h.score for h in top), default=1.0) or 1.0
        seen: dict[int, Candidate] = {}
        for hit in top:
            section_terms = set(terms(self.r.section(hit.passage) or ""))
            for j in self.r.sentences(hit.passage):
                if j in seen:
                    continue
                cand = Candidate(
                    j,
                    hit.passage,
                    float(self.r.sentence_vector(j) @ query_vector),
                    # The heading counts half: it says what the sentence is about, not what it says.
                    coverage(weights, self.r.sentence_terms(j), section_terms),
                    hit.score / best_hit,
                    bool(types) and matches_type(self.r.sentence_text(j), types),
                )
                cand.rescore(self.params)
                seen[j] = cand
        return sorted(seen.values(), key=lambda c: (-c.score, c.sentence))

    def select(
        self, query: str, query_vector: np.ndarray, query_terms: list[str], cands: list[Candidate], hits: list[Hit]
    ) -> list[Candidate]:
        """The candidates as the learned selector orders them, best first: the cross-encoder re-scores the top ones,
        the feature selector replaces every score by its logit."""
        if self.selector is None or not cands:
            return cands
        if self.selector.reranks:
            return self.rerank(query, cands)
        logits = self.selector.score(self.features(query, query_vector, query_terms, cands, hits))
        for cand, logit in zip(cands, logits, strict=True):
            cand.score = float(logit)
        return sorted(cands, key=lambda c: (-c.score, c.sentence))

    def rerank(self, query: str, cands: list[Candidate]) -> list[Candidate]:
        """The top hand-scored candidates re-ordered by hand score + weight x the cross-encoder's cosine; the
        rest keep their order behind them."""
        settings = self.selector.settings
        top = cands[: settings.top]
        cosines = self.selector.cosines(query, [self.r.sentence_text(c.sentence) for c in top])
        for cand, cosine in zip(top, cosines, strict=True):
            cand.cross = float(cosine)
            cand.score += settings.weight * cand.cross
        return sorted(top, key=lambda c: (-c.score, c.sentence)) + cands[settings.top :]

    def features(
        self, query: str, query_vector: np.ndarray, query_terms: list[str], cands: list[Candidate], hits: list[Hit]
    ) -> np.ndarray:
        """The selector's feature rows of the candidates (qa/search/features.py)."""
        near = []
        for c in cands:
            doc_i = int(self.s_doc[c.sentence])
            text = self.r.document(doc_i).text
            near.append(
                Neighbourhood(self._neighbour(c.sentence, -1, doc_i, text), self._neighbour(c.sentence, 1, doc_i, text))
            )
        ranks = {h.passage: i for i, h in enumerate(hits)}
        return candidate_matrix(self.r, query, query_vector, query_terms, cands, near, ranks)

    def missing_specificity(self, query: str) -> float:
        """How specific the query's words are that the corpus never mentions (0 when it knows them all)."""
        from wordfreq import zipf_frequency

        total = 0.0
        for w in set(words(query)):
            # Numbers, decades and ordinals ("1600s", "19th") name no topic the corpus could lack.
            if not is_query_content(w) or len(w) < 2 or any(ch.isdigit() for ch in w):
                continue
            if not self.r.bm25.knows(stem(w)):
                total += max(0.0, self.params.common_zipf - zipf_frequency(w, "en"))
        return total

    def answerability_features(self, query: str, cands: list[Candidate], quote: str) -> tuple[float, ...]:
        """What the hand confidence reads: best cosine and coverage, missing specificity, negation or number the
        first quote lacks."""
        return (
            max(c.dense for c in cands),
            max(c.coverage for c in cands),
            self.missing_specificity(query),
            lacks_negation(query, quote),
            lacks_number(query, quote),
        )

    def answerability(self, query: str, cands: list[Candidate], quote: str) -> float:
        """The uncalibrated answerability score of the candidates and the first quote (higher: more likely)."""
        p = self.params
        features = self.answerability_features(query, cands, quote)
        return p.conf_intercept + sum(w * x for w, x in zip(p.conf_weights, features, strict=True))

    def confidence(self, query: str, query_terms: list[str], cands: list[Candidate], quote: str) -> float:
        """Estimated probability that the first quote answers the question."""
        if not cands:
            return 0.0
        if self.selector is not None and self.selector.reranks:
            margin = cands[0].score - cands[1].score if len(cands) > 1 else 0.0
            return self.selector.confidence((*self.answerability_features(query, cands, quote), cands[0].cross, margin))
        if self.selector is not None:
            return self.selector.confidence(self.question_features(query, query_terms, cands, quote))
        return calibrated(self.answerability(query, cands, quote), self.params)

    def question_features(self, query: str, query_terms: list[str], cands: list[Candidate], quote: str) -> np.ndarray:
        """The selector's question row (qa/search/features.py) for candidates it has scored, best first."""
        return question_row(
            np.array([c.score for c in cands[:2]], dtype=np.float32),
            max(c.dense for c in cands),
            max(c.coverage for c in cands),
            self.missing_specificity(query),
            query,
            quote,
            self.r.term_weights(query_terms),
        )

    def first_quote(self, cands: list[Candidate], query_vector: np.ndarray) -> str:
        """The text the best candidate is quoted with ("" when there is none)."""
        return self._span_text(self.quote_span(cands[0].sentence, query_vector)) if cands else ""

    def _span_text(self, span: tuple[int, int, int]) -> str:
        """The document text of a (doc, start, end) span."""
        doc_i, start, end = span
        return self.r.document(doc_i).text[start:end]

    def answer(
        self,
        question: str,
        search_query: str,
        query_vector: np.ndarray,
        query_terms: list[str],
        hits: list[Hit],
        k: int = 3,
    ) -> Answer:
        """An Answer quoting up to k passages' best sentences, or a decline."""
        version = self.r.index_version
        cands = self.candidates(search_query, query_vector, query_terms, hits)
        cands = self.select(search_query, query_vector, query_terms, cands, hits)
        # The first quote is scored before it is cited: its span is worked out once, for both.
        first = self.quote_span(cands[0].sentence, query_vector) if cands else None
        confidence = self.confidence(search_query, query_terms, cands, self._span_text(first) if first else "")
        threshold = self.params.decline_below if self.selector is None else self.selector.decline_below
        if confidence < threshold:
            return Answer(question, search_query, True, NOT_FOUND, version, round(confidence, 4))
        citations: list[Citation] = []
        used: list[tuple[int, int, int]] = []  # doc, start, end of quotes so far
        for i, cand in enumerate(cands):
            if len(citations) >= k:
                break
            if self._far_weaker(cand, cands[0]):
                break  # more noise than answer
            doc_i, start, end = first if i == 0 else self.quote_span(cand.sentence, query_vector)
            if any(d == doc_i and start < e and s < end for d, s, e in used):
                continue
            doc = self.r.document(doc_i)
            quote = doc.text[start:end]
            if any(_near_duplicate(quote, c.quote) for c in citations):
                continue
            used.append((doc_i, start, end))
            citations.append(
                Citation(
                    len(citations) + 1,
                    doc.doc_id,
                    doc.title,
                    self.r.section(cand.passage),
                    quote,
                    start,
                    end,
                    round(cand.score, 4),
                )
            )
        text = " ".join(f"\u201c{c.quote}\u201d [{c.id}]" for c in citations)
        return Answer(question, search_query, False, text, version, round(confidence, 4), citations)

    def _far_weaker(self, cand: Candidate, best: Candidate) -> bool:
        """Under half the best one's hand-weighted score (for the feature selector: its probability of answering).
        The cross-encoder's addition is left out: it reaches only the top candidates, and would cut all the rest."""
        if self.selector is None or self.selector.reranks:
            return self._hand_score(cand) < self._hand_score(best) * 0.5
        return self.selector.calibrated(cand.score) < 0.5 * self.selector.calibrated(best.score)

    def _hand_score(self, cand: Candidate) -> float:
        """The candidate's score without what the cross-encoder added."""
        return cand.score if cand.cross is None else cand.score - self.selector.settings.weight * cand.cross

    def quote_span(self, j: int, query_vector: np.ndarray) -> tuple[int, int, int]:
        """Offsets of the quote for sentence j: the sentence with a little context from its paragraph.

        The sentence before is included when j leans on it ("It", "However"); a short quote takes whichever
        neighbour is closer to the question; a quote ending in a colon ("The current methods are:") takes
        the sentence it introduces. A quote never grows past params.max_quote_chars.
        """
        limit = self.params.max_quote_chars
        doc_i = int(self.s_doc[j])
        text = self.r.document(doc_i).text
        first = last = j
        prev, nxt = self._neighbour(j, -1, doc_i, text), self._neighbour(j, 1, doc_i, text)
        if prev is not None and _LEANS_BACK.match(text[int(self.s_start[j]) : int(self.s_end[j])]):
            first, prev = prev, None
        if self._span(first, last) < self.params.context_below_chars:
            options = [n for n in (prev, nxt) if n is not None and self._span(min(first, n), max(last, n)) <= limit]
            best = max(options, key=lambda n: float(self.r.sentence_vector(n) @ query_vector), default=None)
            if best is not None:
                first, last = min(first, best), max(last, best)
        after = self._neighbour(last, 1, doc_i, text)
        if after is not None and text[int(self.s_end[last]) - 1] == ":" and self._span(first, after) <= limit:
            last = after
        return doc_i, int(self.s_start[first]), int(self.s_end[last])

    def _span(self, first: int, last: int) -> int:
        """Characters from the start of sentence `first` to the end of sentence `last`."""
        return int(self.s_end[last]) - int(self.s_start[first])

    def _neighbour(self, j: int, step: int, doc_i: int, text: str) -> int | None:
        """Sentence j+step if it stands in the same paragraph (or j ends in a colon that introduces it) and the
        two stay within the limit."""
        n = j + step
        if not 0 <= n < len(self.s_doc) or int(self.s_doc[n]) != doc_i:
            return None
        lo, hi = (n, j) if step < 0 else (j, n)
        between = text[int(self.s_end[lo]) : int(self.s_start[hi])]
        introduces = text[int(self.s_start[lo]) : int(self.s_end[lo])].endswith(":")
        too_long = int(self.s_end[hi]) - int(self.s_start[lo]) > self.params.max_quote_chars
        if ("\n" in between and not introduces) or too_long:
            return None
        return n


def calibrated(score: float, params: AnswerParams = DEFAULT_ANSWER) -> float:
    """An answerability score as a probability (Platt scaling with the params' slope and intercept)."""
    return sigmoid(params.platt_slope * score + params.platt_intercept)


def _near_duplicate(a: str, b: str) -> bool:
    """Two quotes saying nearly the same words (repeated paragraphs across or within documents)."""
    ta, tb = set(terms(a)), set(terms(b))
    if not ta or not tb:
        return a.strip() == b.strip()
    return len(ta & tb) / len(ta | tb) >= 0.8
