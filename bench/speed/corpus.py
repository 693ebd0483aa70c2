"""The benchmark corpus: COVID-QA articles as text files, and their questions."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common.data import BENCH_DIR

ARTICLES = BENCH_DIR / "covidqa" / "articles.jsonl"
QUESTIONS = BENCH_DIR / "covidqa" / "covidqa_200423_flat.jsonl"


def write_corpus(folder: Path, articles: int) -> list[str]:
    """Write the first `articles` COVID-QA articles to folder as .txt files; their document ids."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    with open(ARTICLES, encoding="utf-8") as fh:
        for line in fh:
            if len(ids) >= articles:
                break
            record = json.loads(line)
            doc_id = str(record["document_id"])
            path = folder / f"covid-{doc_id}.txt"
            if not path.exists() or path.read_text(encoding="utf-8") != record["context"]:
                path.write_text(record["context"], encoding="utf-8")
            ids.append(doc_id)
    return ids


def questions(doc_ids: list[str], count: int) -> list[str]:
    """`count` distinct questions, those about the given documents first (the rest mostly get declined)."""
    own, other = [], []
    with open(QUESTIONS, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            (own if str(record["document_id"]) in doc_ids else other).append(record["question"])
    seen: dict[str, None] = {}
    for q in own + other:
        seen.setdefault(" ".join(q.split()), None)
    return list(seen)[:count]
