"""Retrieval and quote metrics: SciFact (documents ranked by best passage) and COVID-QA (answer spans)."""

from __future__ import annotations

from collections import defaultdict

from bench.common.data import Question
from bench.common.harness import Indexed
from bench.common.metrics import dedupe, first_hit, hit_at_k, mean, ndcg_at_k, overlaps, recall_at_k, reciprocal_rank
from bench.common.report import Row

# Passages fetched per SciFact query: enough distinct abstracts for nDCG@10 at the product's fusion depth,
# and for Recall@100 a deeper list (abstracts split into several passages).
SCIFACT_TOP, SCIFACT_DEEP = 100, 1000


def scifact(indexed: Indexed, questions: list[Question], modes: tuple[str, ...]) -> list[Row]:
    """nDCG@10 and Recall@100 over documents ranked by their best passage."""
    relevance = indexed.bench.relevance
    indexed.prime([q.text for q in questions])
    rows = []
    for mode in modes:
        ndcg, recall = [], []
        for q in questions:
            top = dedupe(indexed.ranked_docs(q.text, mode, SCIFACT_TOP))
            deep = dedupe(indexed.ranked_docs(q.text, mode, SCIFACT_DEEP))
            ndcg.append(ndcg_at_k(top, relevance[q.id], 10))
            recall.append(recall_at_k(deep, relevance[q.id], 100))
        rows.append(Row(mode, len(questions), {"nDCG@10": mean(ndcg), "R@100": mean(recall)}))
    return rows


def _span_flags(gold: dict[str, list[tuple[int, int]]], found: list[tuple[str, int, int]]) -> list[bool]:
    return [doc in gold and overlaps(start, end, gold[doc]) for doc, start, end in found]


def covidqa(indexed: Indexed, questions: list[Question], modes: tuple[str, ...], k_ask: int = 3) -> list[Row]:
    """Passage hits on the gold answer span (qa search) and quote hits (qa ask), per mode."""
    service = indexed.service
    indexed.prime([q.text for q in questions])
    rows = []
    for mode in modes:
        values: dict[str, list[float]] = defaultdict(list)
        for q in questions:
            _, results = service.search(q.text, k=10, mode=mode)
            rank = first_hit(_span_flags(q.gold, [(r.doc_id, r.start, r.end) for r in results]))
            for k in (1, 3, 5):
                values[f"hit@{k}"].append(hit_at_k(rank, k))
            values["MRR@10"].append(reciprocal_rank(rank, 10))
            values["doc@1"].append(float(bool(results) and results[0].doc_id in q.gold))
            answer = service.ask(q.text, k=k_ask, mode=mode)
            quote_rank = first_hit(_span_flags(q.gold, [(c.doc_id, c.start, c.end) for c in answer.citations]))
            values["quote@1"].append(hit_at_k(quote_rank, 1))
            values[f"quote@{k_ask}"].append(hit_at_k(quote_rank, k_ask))
            values["declined"].append(float(answer.abstained))
        rows.append(Row(mode, len(questions), {name: mean(v) for name, v in values.items()}))
    return rows
