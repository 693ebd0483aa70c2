"""Training examples for the feature selector, made by qa's own build, retrieval and candidate code.

SQuAD 1.1 train articles become a corpus (one document per article, as the bench writes SQuAD); qa indexes it
with the bundled model and, for every question, lists the candidates `qa ask` would score, with their feature
rows and whether each holds the gold answer. Three kinds of question come out of one index:
- answerable: the question over the whole corpus;
- on topic, not answered here: the same candidates without the sentences of the answer's paragraph;
- off topic: questions of held-out articles that are not in the corpus.
"""

from __future__ import annotations

import gzip
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa.config import Settings
from qa.service import QAService

SQUAD = "train/squad11_train/train.jsonl.gz"


@dataclass(frozen=True)
class CorpusConfig:
    """Which articles to index and which to hold out as off-topic."""

    root: str = "../shared"
    articles: int = 60  # indexed articles
    off_topic_articles: int = 8  # articles whose questions are asked of a corpus without them
    questions_per_article: int = 0  # 0 = all (a small number for tests)
    off_topic_per_article: int = 40
    seed: int = 13


@dataclass
class Article:
    """One SQuAD article as a corpus file, with its questions' gold spans in file offsets."""

    name: str
    text: str
    questions: list[tuple[str, str, tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    # (id, question, answer span, paragraph span)


@dataclass
class Asked:
    """One question's candidates as the answerer sees them."""

    qid: str
    article: int  # index of its article (for splits by article); -1 for off-topic questions
    query: str
    query_terms: list[str]
    weights: dict[str, float]  # the query terms' IDF weights in the index, summing to 1
    features: np.ndarray  # candidates x CANDIDATE_FEATURES
    holds: np.ndarray  # the candidate's sentence overlaps the gold answer
    quote_holds: np.ndarray  # the candidate's quote (with its context) overlaps the gold answer
    in_paragraph: np.ndarray  # the candidate stands in the answer's paragraph
    quotes: list[str]
    missing: float
    vector: np.ndarray  # the question's vector
    sentences: np.ndarray  # the candidates' sentence numbers in the index


def read_articles(config: CorpusConfig) -> tuple[list[Article], list[Article]]:
    """The indexed articles and the off-topic ones, chosen by a seeded shuffle of the titles."""
    paragraphs: dict[str, dict[str, str]] = defaultdict(dict)
    records: dict[str, list[dict]] = defaultdict(list)
    with gzip.open(Path(config.root) / SQUAD, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            paragraphs[r["title"]][r["paragraph_id"]] = r["context"]
            # Guessed offsets and sentences shared with a bench set are left out (the data README says why).
            if r["answer_start_source"] == "unique" and not r["positive_overlaps_eval"]:
                records[r["title"]].append(r)
    titles = sorted(paragraphs)
    random.Random(config.seed).shuffle(titles)
    chosen = titles[: config.articles + config.off_topic_articles]
    articles = [_article(n, t, paragraphs[t], records[t], config) for n, t in enumerate(chosen)]
    return articles[: config.articles], articles[config.articles :]


def _article(number: int, title: str, paragraphs: dict[str, str], records: list[dict], config) -> Article:
    text = title.replace("_", " ")
    offsets = {}
    for pid in sorted(paragraphs):
        text += "\n\n"
        offsets[pid] = len(text)
        text += paragraphs[pid]
    article = Article(f"{number:03d}-{title}.txt", text + "\n")
    for r in records:
        start = offsets[r["paragraph_id"]]
        answer = (start + r["answer_start"], start + r["answer_start"] + len(r["answer"]))
        article.questions.append((r["id"], r["question"], answer, (start, start + len(paragraphs[r["paragraph_id"]]))))
    limit = config.questions_per_article
    if limit:
        article.questions = random.Random(config.seed + number).sample(
            article.questions, min(limit, len(article.questions))
        )
    return article


def index_corpus(articles: list[Article], work: Path) -> QAService:
    """Write the corpus and build its index with qa's own build (the bundled model, no selector)."""
    corpus = work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for a in articles:
        (corpus / a.name).write_text(a.text, encoding="utf-8")
    settings = Settings.from_env(env={}, corpus_dir=corpus, index_dir=work / "index", selector="none")
    service = QAService(settings)
    service.build(progress=True)
    return service


def ask(service: QAService, qid: str, question: str, gold: tuple | None, article: int) -> Asked:
    """The candidates of one question with their features and labels (gold: doc name, answer, paragraph)."""
    loaded = service.load()
    r, answerer = loaded.retriever, loaded.answerer
    query, vector, query_terms, hits = service.retrieve(question, k=10)
    cands = answerer.candidates(query, vector, query_terms, hits)
    features = answerer.features(query, vector, query_terms, cands, hits)
    holds, quote_holds, in_paragraph, quotes = [], [], [], []
    doc = r.doc_index.get(gold[0]) if gold else None
    for c in cands:
        j = c.sentence
        doc_i, start, end = answerer.quote_span(j, vector)
        quotes.append(r.document(doc_i).text[start:end])
        same = doc is not None and int(answerer.s_doc[j]) == doc
        s, e = int(answerer.s_start[j]), int(answerer.s_end[j])
        holds.append(same and s < gold[1][1] and gold[1][0] < e)
        quote_holds.append(same and doc_i == doc and start < gold[1][1] and gold[1][0] < end)
        in_paragraph.append(same and gold[2][0] <= s < gold[2][1])
    return Asked(
        qid,
        article,
        query,
        query_terms,
        r.term_weights(query_terms),
        features,
        np.array(holds, dtype=bool),
        np.array(quote_holds, dtype=bool),
        np.array(in_paragraph, dtype=bool),
        quotes,
        answerer.missing_specificity(query),
        vector,
        np.array([c.sentence for c in cands], dtype=np.int64),
    )


def collect(config: CorpusConfig, work: Path) -> list[Asked]:
    """Index the chosen articles and ask every question of them, and the off-topic ones."""
    indexed, held_out = read_articles(config)
    service = index_corpus(indexed, work)
    jobs = [(a.name, n, q) for n, a in enumerate(indexed) for q in a.questions]
    off = [q for a in held_out for q in a.questions[: config.off_topic_per_article]]
    out = []
    for name, n, (qid, question, answer, paragraph) in tqdm(jobs, desc="answerable", unit="q"):
        out.append(ask(service, qid, question, (name, answer, paragraph), n))
    for qid, question, _, _ in tqdm(off, desc="off-topic", unit="q"):
        out.append(ask(service, qid, question, None, -1))
    return out
