"""The runtime selector: loading a model folder (or refusing it), scoring candidates, and serving by default."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import QAError, SelectorError
from qa.search.features import CANDIDATE_FEATURES, QUESTION_FEATURES
from qa.search.selector import Net, Selector, selector_path, shipped_path, sigmoid
from qa.service import QAService
from qa.testing import HashEmbedder
from train.ranker import net_json
from train.recipe import base_manifest, write_folder

F, Q = len(CANDIDATE_FEATURES), len(QUESTION_FEATURES)


def _linear(weights: np.ndarray, bias: float) -> Net:
    n = len(weights)
    w = np.asarray(weights, np.float32).reshape(n, 1)
    return Net(np.zeros(n, np.float32), np.ones(n, np.float32), ((w, np.array([bias], np.float32)),))


def _folder(path, ranker: Net, confidence: Net, decline_below: float = 0.05):
    write_folder(path, {"ranker": net_json(ranker), "confidence": net_json(confidence)}, base_manifest(decline_below))
    return path


@pytest.fixture
def folder(tmp_path):
    """A selector that prefers the sentence least like the question, with confidence sigmoid(top logit)."""
    ranker = _linear(np.eye(F)[CANDIDATE_FEATURES.index("dense")] * -8.0, 2.0)
    confidence = _linear(np.eye(Q)[QUESTION_FEATURES.index("top_logit")], 0.0)
    return _folder(tmp_path / "selector", ranker, confidence)


def test_a_net_matches_its_formula_and_a_two_layer_net_uses_relu():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    mean, scale = np.array([0.1, -0.2, 0.3], np.float32), np.array([1.0, 2.0, 0.5], np.float32)
    w1, b1 = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    w2, b2 = rng.normal(size=(4, 1)).astype(np.float32), rng.normal(size=1).astype(np.float32)
    net = Net(mean, scale, ((w1, b1), (w2, b2)))
    z = (x - mean) / scale
    assert net(x) == pytest.approx((np.maximum(z @ w1 + b1, 0) @ w2 + b2)[:, 0], abs=1e-5)
    again = Net.from_json(json.loads(json.dumps(net_json(net))), 3)
    assert again(x) == pytest.approx(net(x), abs=1e-5)
    with pytest.raises(ValueError, match="does not follow"):
        Net.from_json(net_json(net), 4)


def test_a_folder_loads_and_scores_deterministically(folder):
    selector = Selector.load(folder)
    x = np.random.default_rng(1).normal(size=(7, F)).astype(np.float32)
    assert selector.score(x) == pytest.approx(2.0 - 8.0 * x[:, CANDIDATE_FEATURES.index("dense")], abs=1e-5)
    assert np.array_equal(Selector.load(folder).score(x), selector.score(x))
    assert selector.score(np.zeros((0, F), np.float32)).shape == (0,)
    assert len(selector.identity) == 16 and selector.decline_below == 0.05
    assert selector.confidence(np.full(Q, 0.0, np.float32)) == pytest.approx(0.5)


def test_load_refuses_a_missing_folder(tmp_path):
    with pytest.raises(SelectorError, match="no selector model folder"):
        Selector.load(tmp_path / "absent")
    assert issubclass(SelectorError, QAError)


def test_load_refuses_a_damaged_folder(folder, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    weights = broken / "weights.json"
    weights.write_text(weights.read_text().replace("-8.0", "-9.0"))
    with pytest.raises(SelectorError, match="does not match its manifest"):
        Selector.load(broken)
    weights.unlink()
    with pytest.raises(SelectorError, match=r"lacks weights\.json"):
        Selector.load(broken)
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(SelectorError, match="damaged"):
        Selector.load(broken)
    (broken / "manifest.json").unlink()
    with pytest.raises(SelectorError, match=r"no manifest\.json"):
        Selector.load(broken)


def test_load_refuses_a_folder_made_for_other_features(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["candidate_features"] = manifest["candidate_features"][:-1]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SelectorError, match="other candidate features"):
        Selector.load(folder)


def test_load_refuses_weights_of_the_wrong_shape(tmp_path):
    wrong = _folder(tmp_path / "wrong", _linear(np.ones(F + 1), 0.0), _linear(np.ones(Q), 0.0))
    with pytest.raises(SelectorError, match="damaged"):
        Selector.load(wrong)


def test_a_service_answers_through_the_folders_selector(folder, tmp_path, corpus_dir):
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", selector=str(folder))
    service = QAService(settings, HashEmbedder())
    service.build()
    answerer = service.load().answerer
    assert answerer.selector is service.selector is not None
    question = "Who invented the Fresnel lens?"
    query, vector, query_terms, hits = service.retrieve(question)
    cands = answerer.candidates(query, vector, query_terms, hits)
    logits = service.selector.score(answerer.features(query, vector, query_terms, cands, hits))
    best = min(zip(cands, logits, strict=True), key=lambda cl: (-cl[1], cl[0].sentence))[0]  # ties: earlier first
    answer = service.ask(question, k=3)
    # The first quote is the least similar sentence (this selector's taste), with its logit as the score.
    assert answer.citations[0].score == pytest.approx(float(logits.max()), abs=1e-3)
    assert answerer.r.sentence_text(best.sentence) in answer.citations[0].quote
    assert answer.confidence == pytest.approx(sigmoid(float(logits.max())), abs=1e-3)


def test_a_selector_below_its_threshold_declines(tmp_path, corpus_dir):
    low = _folder(tmp_path / "low", _linear(np.zeros(F), -4.0), _linear(np.eye(Q)[0], 0.0), decline_below=0.05)
    service = QAService(
        Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", selector=str(low)), HashEmbedder()
    )
    service.build()
    answer = service.ask("Who invented the Fresnel lens?")
    assert answer.abstained and answer.confidence == pytest.approx(sigmoid(-4.0), abs=1e-4)


def test_the_shipped_cross_encoder_is_the_default_and_answers(tmp_path, corpus_dir):
    from qa.search.rerank import CrossSelector

    assert Settings().selector == "shipped" and Settings.from_env({}).selector == "shipped"
    assert Settings.from_env({"QA_SELECTOR": "none"}).selector == "none"
    assert selector_path("shipped") == selector_path(" Shipped ") == shipped_path()
    assert shipped_path().parent.name == "models" and selector_path("x/y") == Path("x/y")
    service = QAService(Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index"), HashEmbedder())
    service.build()
    assert isinstance(service.selector, CrossSelector) and service.selector.folder == shipped_path()
    answerer = service.load().answerer
    assert answerer.selector is service.selector
    query, vector, query_terms, hits = service.retrieve("Who invented the Fresnel lens?")
    cands = answerer.select(query, vector, query_terms, answerer.candidates(query, vector, query_terms, hits), hits)
    assert cands[0].cross is not None  # the first quote was re-scored by the cross-encoder
    assert service.info()["selector"] == service.selector.identity


@pytest.mark.parametrize("damage", ["missing", "not a folder"])
def test_the_cli_reports_a_bad_selector_in_one_line(tmp_path, damage):
    from click.testing import CliRunner

    from qa.cli import cli

    path = tmp_path / "selector"
    if damage == "not a folder":
        path.write_text("weights")
    result = CliRunner().invoke(cli, ["ask", "--index", str(tmp_path / "index"), "--selector", str(path), "Why?"])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert f"no selector model folder at {path}" in result.output
