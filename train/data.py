"""Training examples for answer selection: a question, the sentences that answer it, and hard negatives."""

from __future__ import annotations

import gzip
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.index.store import file_sha256
from train.bm25 import SentenceBM25

SOURCES = {
    "squad11_train": "train/squad11_train/train.jsonl.gz",
    "medquad_full": "train/medquad_full/train.jsonl.gz",
    "selqa": "train/selqa/dev_test.jsonl",
}
# MedQuAD positives are whole passages; a candidate at run time is one sentence, so each passage is cut to
# its first sentences (which usually state the answer).
PASSAGE_HEAD_CHARS = 300


@dataclass(frozen=True)
class DataConfig:
    """Which records to read and how to build negatives for them."""

    root: str = "../shared"
    sources: tuple[str, ...] = ("squad11_train", "medquad_full", "selqa")
    limit: int = 0  # records per source, 0 = all (a tiny mode for tests)
    same_context_negatives: int = 4  # other sentences of the same paragraph, section or page
    lexical_negatives: int = 3  # sentences elsewhere in the article that BM25 ranks high for the question
    seed: int = 13


@dataclass(frozen=True)
class Group:
    """One question with its answering texts and its non-answering candidates (hardest first)."""

    question: str
    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    source: str


def input_hashes(config: DataConfig) -> dict[str, str]:
    """SHA-256 of every input file the recipe reads, keyed by its path under the data root."""
    return {SOURCES[name]: file_sha256(Path(config.root) / SOURCES[name]) for name in config.sources}


def _records(path: Path, limit: int) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for count, line in enumerate(fh):
            if limit and count >= limit:
                return
            if line.strip():
                yield json.loads(line)


def _head(text: str) -> str:
    """The start of a passage: its whole sentences that fit in PASSAGE_HEAD_CHARS (at least one cut)."""
    if len(text) <= PASSAGE_HEAD_CHARS:
        return text
    cut = max(text.rfind(". ", 0, PASSAGE_HEAD_CHARS), text.rfind("? ", 0, PASSAGE_HEAD_CHARS))
    return text[: cut + 1] if cut > 40 else text[:PASSAGE_HEAD_CHARS].rsplit(" ", 1)[0]


def _lexical(bm25: SentenceBM25, sentences: list[str], question: str, avoid: set[str], answer: str | None, k: int):
    """The k sentences BM25 ranks highest for the question that are not excluded and do not hold the answer."""
    out = []
    for i in bm25.top(question, k + len(avoid) + 8):
        text = sentences[i]
        if text in avoid or (answer and answer in text):
            continue
        out.append(text)
        if len(out) == k:
            break
    return out


def squad_groups(config: DataConfig) -> list[Group]:
    """SQuAD 1.1 questions: same-paragraph negatives plus BM25-hard sentences of other paragraphs."""
    by_title: dict[str, list[dict]] = defaultdict(list)
    for rec in _records(Path(config.root) / SOURCES["squad11_train"], config.limit):
        # Guessed answer positions may point at the wrong sentence; eval-overlapping records would leak.
        if rec["answer_start_source"] == "guessed-by-overlap" or rec["positive_overlaps_eval"]:
            continue
        by_title[rec["title"]].append(rec)
    groups = []
    for recs in by_title.values():
        sentences = sorted({s for r in recs for s in (r["positive"], *r["negatives"])})
        bm25 = SentenceBM25(sentences)
        for r in recs:
            same = tuple(r["negatives"][: config.same_context_negatives])
            avoid = {r["positive"], *r["negatives"]}
            lex = _lexical(bm25, sentences, r["question"], avoid, r["answer"], config.lexical_negatives)
            groups.append(Group(r["question"], (r["positive"],), tuple(lex) + same, "squad11_train"))
    return groups


def medquad_groups(config: DataConfig) -> list[Group]:
    """MedQuAD questions: the answer passage's head against the heads of the same page's other answers."""
    groups = []
    for r in _records(Path(config.root) / SOURCES["medquad_full"], config.limit):
        # Boilerplate answers shared by many questions would teach that one text answers everything.
        if r["positive_shared_by_n_records"] > 1 or not r["negatives"]:
            continue
        positive = _head(r["positive"])
        negatives = tuple(dict.fromkeys(_head(n) for n in r["negatives"] if _head(n) != positive))
        if negatives:
            groups.append(Group(r["question"], (positive,), negatives[: config.same_context_negatives], "medquad"))
    return groups


def selqa_groups(config: DataConfig) -> list[Group]:
    """SelQA questions: answering sentences against BM25-hardest other sentences of the same section."""
    merged: dict[tuple[str, str], dict] = {}
    for r in _records(Path(config.root) / SOURCES["selqa"], config.limit):
        if r["positive_overlaps_eval"]:
            continue
        entry = merged.setdefault((r["title"], r["question"]), {"pos": [], "neg": set(r["negatives"])})
        entry["pos"].append(r["positive"])
    groups = []
    k = config.same_context_negatives + config.lexical_negatives
    for (_, question), entry in merged.items():
        negatives = sorted(entry["neg"] - set(entry["pos"]))
        bm25 = SentenceBM25(negatives)
        ranked = tuple(negatives[i] for i in bm25.top(question, k))
        if ranked:
            groups.append(Group(question, tuple(entry["pos"]), ranked, "selqa"))
    return groups


BUILDERS = {"squad11_train": squad_groups, "medquad_full": medquad_groups, "selqa": selqa_groups}


def load_groups(config: DataConfig) -> list[Group]:
    """All training groups of the configured sources, shuffled with the config's seed."""
    groups = [g for name in config.sources for g in BUILDERS[name](config)]
    random.Random(config.seed).shuffle(groups)
    return groups


def main() -> None:
    """Print counts and a sample, to look at what the recipe trains on."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data", default="../shared")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    config = DataConfig(root=args.data, limit=args.limit)
    groups = load_groups(config)
    counts: dict[str, int] = defaultdict(int)
    for g in groups:
        counts[g.source] += 1
    print(json.dumps({"groups": dict(counts), "hashes": input_hashes(config)}, indent=1))
    for g in groups[:3]:
        print(json.dumps({"q": g.question, "pos": g.positives, "neg": g.negatives[:3]}, indent=1)[:1200])


if __name__ == "__main__":
    main()
