"""The quality benchmark harness: metrics against hand-checked values, and a small run with the fake embedder."""

from __future__ import annotations

import json
import math

import pytest

from bench.common.data import BENCH_DIR, Benchmark, Question, load_covidqa, load_scifact, load_squad
from bench.common.harness import open_indexed, wrap_embedder
from bench.common.metrics import (
    dedupe,
    first_hit,
    hit_at_k,
    ndcg_at_k,
    overlaps,
    precision_recall,
    recall_at_k,
    reciprocal_rank,
    roc_auc,
)
from bench.common.report import Row, table, write_section
from bench.quality import decline, retrieval
from qa.testing import HashEmbedder

needs_data = pytest.mark.skipif(not BENCH_DIR.is_dir(), reason="shared benchmark data not present")


def test_ndcg_hand_checked():
    assert ndcg_at_k(["a", "b", "c"], {"a": 1}) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "a"], {"a": 1}) == pytest.approx(1 / math.log2(3))
    # DCG 1/log2(3) + 1/log2(4); ideal 1 + 1/log2(3)
    assert ndcg_at_k(["x", "a", "b"], {"a": 1, "b": 1}) == pytest.approx(1.1309298 / 1.6309298)
    assert ndcg_at_k(["x", "a"], {"a": 1}, k=1) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}) == 0.0


def test_recall_and_ranks_hand_checked():
    assert recall_at_k(["a", "x", "b"], {"a": 1, "b": 1, "c": 1}, k=2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "a", "b"], {"a": 1, "b": 1}, k=3) == 1.0
    assert first_hit([False, True, True]) == 2
    assert first_hit([False]) is None
    assert (hit_at_k(2, 1), hit_at_k(2, 3), hit_at_k(None, 5)) == (0.0, 1.0, 0.0)
    assert (reciprocal_rank(2), reciprocal_rank(11, 10), reciprocal_rank(None)) == (0.5, 0.0, 0.0)
    assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_overlaps_is_half_open():
    assert not overlaps(5, 10, [(10, 12)])
    assert overlaps(5, 10, [(9, 12)])
    assert overlaps(5, 10, [(0, 1), (6, 7)])


def test_roc_auc_hand_checked():
    # positives 0.9, 0.3; negatives 0.8, 0.1: 3 of 4 pairs ordered correctly
    assert roc_auc([0.9, 0.8, 0.3, 0.1], [True, False, True, False]) == pytest.approx(0.75)
    assert roc_auc([0.5, 0.5], [True, False]) == pytest.approx(0.5)
    assert roc_auc([0.2, 0.7, 0.7], [False, True, False]) == pytest.approx(0.75)
    assert roc_auc([1.0, 0.0], [False, True]) == 0.0
    assert math.isnan(roc_auc([1.0], [True]))


def test_precision_recall_hand_checked():
    assert precision_recall([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)
    assert precision_recall([True, False], [True, True]) == (1.0, 0.5)
    assert precision_recall([False, False], [True, False]) == (0.0, 0.0)


def test_table_and_generated_section(tmp_path):
    rows = [Row("bm25", 3, {"hit@1": 2 / 3, "AUC": float("nan")})]
    assert "| bm25 | 3 | 0.667 | n/a |" in table(rows)
    doc = tmp_path / "QUALITY.md"
    doc.write_text("# Q\n\nhand-written\n", encoding="utf-8")
    write_section("x:test", "first", doc)
    write_section("x:test", "second", doc)
    text = doc.read_text(encoding="utf-8")
    assert "hand-written" in text and "second" in text and "first" not in text


TOY = {
    "zebra.txt": "Zebras\n\nZebras have black and white stripes. The stripes keep biting flies away.\n",
    "volcano.txt": "Volcanoes\n\nA volcano erupts when magma rises through the crust.\n",
    "tea.txt": "Tea\n\nGreen tea is steamed soon after picking. Black tea is oxidised.\n",
}


def _span(doc: str, text: str) -> dict[str, list[tuple[int, int]]]:
    start = TOY[doc].index(text)
    return {doc: [(start, start + len(text))]}


def test_covidqa_harness_on_a_toy_corpus(tmp_path):
    questions = [
        Question("1", "Why do zebras have stripes against flies?", _span("zebra.txt", "keep biting flies away")),
        Question("2", "What makes a volcano erupt magma?", _span("volcano.txt", "magma rises")),
        # gold deliberately in the wrong document: the right passage is found but is no hit
        Question("3", "How is green tea steamed?", _span("zebra.txt", "Zebras have")),
    ]
    indexed = open_indexed(Benchmark("toy", TOY, questions), wrap_embedder(HashEmbedder()), out_dir=tmp_path)
    (bm25,) = retrieval.covidqa(indexed, questions, ("bm25",))
    assert bm25.n == 3
    assert bm25.metrics["hit@1"] == pytest.approx(2 / 3)
    assert bm25.metrics["hit@5"] == pytest.approx(2 / 3)
    assert bm25.metrics["MRR@10"] == pytest.approx(2 / 3)
    assert bm25.metrics["doc@1"] == pytest.approx(2 / 3)
    assert bm25.metrics["quote@1"] <= bm25.metrics["quote@3"] <= 1.0
    # a second open reuses the built index instead of building again
    again = open_indexed(Benchmark("toy", TOY, questions), wrap_embedder(HashEmbedder()), out_dir=tmp_path)
    assert again.service.settings.index_dir == indexed.service.settings.index_dir


def test_decline_rows_on_a_toy_corpus(tmp_path):
    answerable = [Question("1", "Why do zebras have stripes against flies?", _span("zebra.txt", "biting flies"))]
    off_topic = [Question("2", "What is the capital of Peru?")]
    indexed = open_indexed(Benchmark("toy", TOY, []), wrap_embedder(HashEmbedder()), out_dir=tmp_path)
    rows_a, rows_b = decline.squad(indexed, answerable, off_topic, ("bm25", "hybrid"))
    assert [r.mode for r in rows_b] == ["bm25", "hybrid"]
    assert math.isnan(rows_a[0].metrics["AUC"])  # no unanswerable questions: AUC undefined
    asked = decline.ask_all(indexed, answerable + off_topic, "bm25")
    expected = roc_auc([a.confidence for a in asked], [True, False])
    assert rows_b[0].metrics["AUC"] == pytest.approx(expected)
    assert rows_b[0].metrics["quote hit"] == float(asked[0].quote_hit)
    assert rows_b[0].metrics["quote@1"] == float(asked[0].first_hit) <= rows_b[0].metrics["quote hit"]


@needs_data
def test_gold_offsets_point_at_the_answers_in_the_written_files():
    covid = load_covidqa(BENCH_DIR)
    for q in covid.questions[:200]:
        ((doc, spans),) = q.gold.items()
        assert all(covid.files[doc][s:e].strip() for s, e in spans)
    squad = load_squad(BENCH_DIR)
    answerable = [q for q in squad.questions if q.gold][:300]
    raw = json.loads((BENCH_DIR / "squad2_dev_half" / "dev-v2.0.json").read_text(encoding="utf-8"))
    answers = {
        qa["id"]: [a["text"] for a in qa["answers"]] for d in raw["data"] for p in d["paragraphs"] for qa in p["qas"]
    }
    for q in answerable:
        ((doc, spans),) = q.gold.items()
        assert [squad.files[doc][s:e] for s, e in spans] == answers[q.id]


@needs_data
def test_scifact_slice_with_the_fake_embedder(tmp_path):
    full = load_scifact(BENCH_DIR, "test")
    questions = full.questions[:5]
    keep = {d for q in questions for d in full.relevance[q.id]} | set(sorted(full.files)[:20])
    bench = Benchmark("scifact", {d: full.files[d] for d in keep}, questions, full.relevance)
    indexed = open_indexed(bench, wrap_embedder(HashEmbedder()), out_dir=tmp_path)
    rows = retrieval.scifact(indexed, questions, ("dense", "bm25"))
    # fewer than 100 abstracts: dense ranks every passage, so every relevant abstract is within the top 100
    assert rows[0].metrics["R@100"] == 1.0
    assert all(0.0 <= r.metrics["nDCG@10"] <= 1.0 for r in rows)


def test_quote_at_1_follows_the_sentence_weights():
    from bench.quality import tune_quotes
    from qa.search.answerer import Candidate
    from qa.search.params import AnswerParams

    def case(hit_dense: float, hit_cov: float, other_dense: float, other_cov: float):
        cands = [
            Candidate(1, 0, hit_dense, hit_cov, 1.0, False),
            Candidate(2, 0, other_dense, other_cov, 1.0, False),
        ]
        return tune_quotes.Case(None, cands, {1})

    cases = [case(0.9, 0.1, 0.5, 0.6), case(0.5, 0.6, 0.9, 0.1), tune_quotes.Case(None, [], set())]
    cosine_only = AnswerParams(w_lexical=0.0)  # the first case's hit wins, the second's loses
    assert tune_quotes.quote_at_1(cases, cosine_only) == pytest.approx(1 / 3)  # no candidates: a miss
    even = AnswerParams(w_lexical=1.0, w_dense=1.0)  # 0.9 + 0.1 < 0.5 + 0.6 and the other way round
    assert tune_quotes.quote_at_1([cases[1]], even) == 1.0 and tune_quotes.quote_at_1([cases[0]], even) == 0.0


def test_calibration_tables_hand_checked():
    import numpy as np

    from bench.quality.calibrate import Sample, coverage_accuracy, fit, predict, reliability

    p = np.array([0.05, 0.15, 0.55, 0.95])
    y = np.array([False, True, True, True])
    assert reliability(p, y, bins=2) == [("0.0-0.5", 2, 0.1, 0.5), ("0.5-1.0", 2, 0.75, 1.0)]
    rows = coverage_accuracy(p, y, [0.0, 0.1, 0.6])
    assert rows[0] == (0.0, 1.0, 0.75) and rows[1] == (0.1, 0.75, 1.0) and rows[2][:2] == (0.6, 0.25)
    # Scores where higher means right more often: the fitted scaling rises with the score.
    right = [0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1]  # overlapping classes: a finite fit
    samples = [Sample(float(s), bool(r), "g") for s, r in zip(range(-6, 7), right, strict=True)]
    slope, intercept = fit(samples)
    assert slope > 0
    fitted = predict(samples, slope, intercept)
    assert np.all(np.diff(fitted) > 0) and abs(fitted.mean() - np.mean([s.correct for s in samples])) < 0.01
