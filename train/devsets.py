"""The DEV splits for choosing the selector: SQuAD 2.0 half (first 4 articles) and COVID-QA (odd document ids)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.text.sentences import SentenceSplitter, train_params
from train.bm25 import SentenceBM25

SQUAD_FILE = "bench/squad2_dev_half/dev-v2.0.json"
COVID_ARTICLES = "bench/covidqa/articles.jsonl"
COVID_QUESTIONS = "bench/covidqa/covidqa_200423_flat.jsonl"
SQUAD_DEV_ARTICLES = 4  # the bench README: tune on the first 4 articles, report on the other 12
TOP_K = 20
RRF_K = 60  # reciprocal-rank fusion constant (the usual value)


@dataclass(frozen=True)
class DevItem:
    """A question, its candidate sentences, and which of them hold a gold answer."""

    split: str  # "squad" or "covid"
    question: str
    candidates: list[str]
    labels: list[bool]
    answerable: bool


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def squad_dev(root: Path, limit: int = 0) -> list[DevItem]:
    """SQuAD 2.0 dev-half DEV items: the article's top BM25 sentences plus the question's paragraph."""
    data = json.loads((root / SQUAD_FILE).read_text(encoding="utf-8"))["data"][:SQUAD_DEV_ARTICLES]
    splitter = SentenceSplitter(train_params(p["context"] for a in data for p in a["paragraphs"]))
    items = []
    for article in data:
        sentences: list[str] = []
        spans: list[tuple[int, int, int]] = []  # paragraph number, start, end
        for number, paragraph in enumerate(article["paragraphs"]):
            for s, e in splitter.split(paragraph["context"]):
                sentences.append(paragraph["context"][s:e])
                spans.append((number, s, e))
        bm25 = SentenceBM25(sentences)
        for number, paragraph in enumerate(article["paragraphs"]):
            own = [i for i, (p, _, _) in enumerate(spans) if p == number]
            for qa in paragraph["qas"]:
                gold = [(a["answer_start"], a["answer_start"] + len(a["text"])) for a in qa["answers"]]
                chosen = list(dict.fromkeys(bm25.top(qa["question"], TOP_K) + own))
                labels = [spans[i][0] == number and _overlaps(spans[i][1], spans[i][2], gold) for i in chosen]
                answerable = not qa.get("is_impossible", False)
                items.append(DevItem("squad", qa["question"], [sentences[i] for i in chosen], labels, answerable))
    return items[:limit] if limit else items


def covid_dev(root: Path, embed, limit: int = 0) -> list[DevItem]:
    """COVID-QA DEV items (odd document ids): top sentences of the article by BM25 and cosine, fused."""
    with open(root / COVID_ARTICLES, encoding="utf-8") as fh:
        articles = {a["document_id"]: a["context"] for a in map(json.loads, fh) if a["document_id"] % 2 == 1}
    with open(root / COVID_QUESTIONS, encoding="utf-8") as fh:
        questions = [q for q in map(json.loads, fh) if q["document_id"] % 2 == 1]
    if limit:
        questions = questions[:limit]
    splitter = SentenceSplitter(train_params(articles.values()))
    items = []
    for doc_id in sorted({q["document_id"] for q in questions}):
        text = articles[doc_id]
        spans = splitter.split(text)
        sentences = [text[s:e] for s, e in spans]
        bm25 = SentenceBM25(sentences)
        vectors = embed(sentences)
        for q in (q for q in questions if q["document_id"] == doc_id):
            gold = [(a["answer_start"], a["answer_start"] + len(a["text"])) for a in q["answers"]]
            lexical = np.argsort(-bm25.scores(q["question"]), kind="stable")
            dense = np.argsort(-(vectors @ embed([q["question"]])[0]), kind="stable")
            fused = np.zeros(len(sentences))
            fused[lexical] += 1 / (RRF_K + np.arange(1, len(sentences) + 1))
            fused[dense] += 1 / (RRF_K + np.arange(1, len(sentences) + 1))
            chosen = [int(i) for i in np.argsort(-fused, kind="stable")[:TOP_K]]
            labels = [_overlaps(*spans[i], gold) for i in chosen]
            items.append(DevItem("covid", q["question"], [sentences[i] for i in chosen], labels, True))
    return items


def load_dev(root: Path, cache: Path | None, limit: int = 0) -> list[DevItem]:
    """Both DEV sets, from a JSON cache when one exists (building COVID-QA candidates encodes ~10k sentences)."""
    if cache and cache.is_file():
        return [DevItem(**d) for d in json.loads(cache.read_text(encoding="utf-8"))]
    from train.scorers import bundled_encoder

    encoder = bundled_encoder()

    def embed(texts: list[str]) -> np.ndarray:
        return encoder.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

    items = squad_dev(root, limit) + covid_dev(root, embed, limit)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps([asdict(i) for i in items]), encoding="utf-8")
    return items
