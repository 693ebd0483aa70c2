"""Loading the public benchmarks and laying each out as a corpus folder of plain-text files."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO.parent / "shared" / "bench"
DEV_FILE = BENCH_DIR.parent / "eval" / "dev.jsonl"  # the project's own question set, in `qa eval`'s format
DEFAULT_CORPUS = REPO / "corpus"
OUT_DIR = REPO / "bench" / "out"  # git-ignored: built indexes, vector caches, reports


@dataclass
class Question:
    """A benchmark question: where its answer is (doc_id -> spans), or nothing when it has none."""

    id: str
    text: str
    gold: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    group: int = 0  # SciFact: 0; COVID-QA: document_id; SQuAD: 1-based article number


@dataclass
class Benchmark:
    """Files of a corpus (name -> text) and its questions."""

    name: str
    files: dict[str, str]
    questions: list[Question]
    relevance: dict[str, dict[str, float]] = field(default_factory=dict)  # SciFact qrels: qid -> doc_id -> gain


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _qrels(path: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(dict)
    with open(path, encoding="utf-8") as fh:
        next(fh)  # header: query-id corpus-id score
        for line in fh:
            qid, doc, score = line.split()
            out[qid][f"{doc}.txt"] = float(score)
    return dict(out)


def load_scifact(root: Path, split: str) -> Benchmark:
    """BEIR SciFact: `<_id>.txt` holding the title line then the abstract; qrels of `split` (train|test)."""
    files = {f"{d['_id']}.txt": f"{d['title']}\n{d['text']}\n" for d in _jsonl(root / "scifact" / "corpus.jsonl")}
    relevance = _qrels(root / "scifact" / "qrels" / f"{split}.tsv")
    queries = {q["_id"]: q["text"] for q in _jsonl(root / "scifact" / "queries.jsonl")}
    questions = [Question(qid, queries[qid]) for qid in sorted(relevance, key=int)]
    return Benchmark("scifact", files, questions, relevance)


def load_covidqa(root: Path) -> Benchmark:
    """COVID-QA: `<document_id>.txt` holding exactly `context`, so answer offsets carry over unchanged."""
    files = {f"{a['document_id']}.txt": a["context"] for a in _jsonl(root / "covidqa" / "articles.jsonl")}
    questions = [
        Question(
            str(q["id"]),
            q["question"],
            {
                f"{q['document_id']}.txt": [
                    (a["answer_start"], a["answer_start"] + len(a["text"])) for a in q["answers"]
                ]
            },
            int(q["document_id"]),
        )
        for q in _jsonl(root / "covidqa" / "covidqa_200423_flat.jsonl")
    ]
    return Benchmark("covidqa", files, questions)


def load_squad(root: Path) -> Benchmark:
    """SQuAD 2.0 half: one file per article, its title then its paragraphs separated by blank lines."""
    data = json.loads((root / "squad2_dev_half" / "dev-v2.0.json").read_text(encoding="utf-8"))["data"]
    files: dict[str, str] = {}
    questions: list[Question] = []
    for number, article in enumerate(data, 1):
        name = f"{number:02d}-{article['title']}.txt"
        text = article["title"].replace("_", " ")
        for paragraph in article["paragraphs"]:
            text += "\n\n"
            offset = len(text)
            text += paragraph["context"]
            for qa in paragraph["qas"]:
                spans = [
                    (offset + a["answer_start"], offset + a["answer_start"] + len(a["text"])) for a in qa["answers"]
                ]
                gold = {} if qa.get("is_impossible") else {name: spans}
                questions.append(Question(qa["id"], qa["question"], gold, number))
        files[name] = text + "\n"
    return Benchmark("squad", files, questions)


def load_medquad(root: Path) -> list[dict]:
    """MedQuAD facial and movement disorder questions as given."""
    return _jsonl(root / "medquad" / "medquad_facial.jsonl")


def write_corpus(files: dict[str, str], folder: Path) -> None:
    """Make `folder` hold exactly these files, rewriting only what differs (keeps incremental builds cheap)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        path = folder / name
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
