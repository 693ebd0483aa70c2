"""Answer-quality benchmarks run through the product's own build, search and ask (`make bench-quality`).

Usage: python -m bench.quality [--quick] [--only scifact,covidqa,squad,medquad] [--split dev|test] [--no-write]
       [--whole-abstracts] [--bench-dir ../shared/bench] [--selector shipped|PATH|none]
       [--model PATH]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.common.data import (
    BENCH_DIR,
    DEFAULT_CORPUS,
    Benchmark,
    Question,
    load_covidqa,
    load_medquad,
    load_scifact,
    load_squad,
)
from bench.common.embedcache import CachingEmbedder
from bench.common.harness import MODES, OUT_DIR, model_embedder, open_indexed, passage_lengths
from bench.common.report import table, write_section
from bench.quality import decline, retrieval
from qa.config import Settings

BENCHMARKS = ("scifact", "covidqa", "squad", "medquad")
# SciFact measured again with each abstract as one passage, as BEIR and MTEB embed them.
WHOLE_ABSTRACT_CHARS = 20_000


def _subset_scifact(bench: Benchmark, n_queries: int, n_docs: int) -> Benchmark:
    """The first queries, over their relevant abstracts plus the first other abstracts up to n_docs."""
    questions = bench.questions[:n_queries]
    keep = {doc for q in questions for doc in bench.relevance[q.id]}
    for name in sorted(bench.files):
        if len(keep) >= n_docs:
            break
        keep.add(name)
    files = {name: bench.files[name] for name in sorted(keep)}
    return Benchmark(bench.name, files, questions, bench.relevance)


def _section(title: str, command: str, parts: list[str]) -> str:
    return f"### {title}\n\nCommand: `{command}`\n\n" + "\n\n".join(parts)


def run_scifact(emb: CachingEmbedder, split: str, quick: bool, root: Path, selector: str, whole: bool = False) -> str:
    """SciFact nDCG@10 / Recall@100 on the product's passages (and on whole abstracts when asked)."""
    bench = load_scifact(root, "train" if split == "dev" else "test")
    if quick:
        bench = _subset_scifact(bench, 40, 200)
    parts = []
    variants = [("passages (product default)", None), ("whole abstracts", WHOLE_ABSTRACT_CHARS)]
    for label, max_chars in variants[: 2 if whole else 1]:
        indexed = open_indexed(bench, emb, max_chars=max_chars, selector=selector)
        count, length = passage_lengths(indexed)
        rows = retrieval.scifact(indexed, bench.questions, MODES)
        parts.append(
            f"{label}: {indexed.label}, {count} passages of {length:.0f} characters on average\n\n{table(rows)}"
        )
    return "\n\n".join(parts)


def _covid_questions(bench: Benchmark, split: str, quick: bool) -> tuple[Benchmark, list[Question]]:
    questions = [q for q in bench.questions if q.group % 2 == 1] if split == "dev" else bench.questions
    if not quick:
        return bench, questions
    docs = sorted({q.group for q in questions})[:8]
    files = {f"{d}.txt": bench.files[f"{d}.txt"] for d in docs}
    return Benchmark(bench.name, files, []), [q for q in questions if q.group in docs][:80]


def run_covidqa(emb: CachingEmbedder, split: str, quick: bool, root: Path, selector: str) -> str:
    """COVID-QA passage and quote hits on the gold answer span, all articles as one corpus."""
    bench, questions = _covid_questions(load_covidqa(root), split, quick)
    indexed = open_indexed(bench, emb, selector=selector)
    count, length = passage_lengths(indexed)
    rows = retrieval.covidqa(indexed, questions, MODES)
    return (
        f"{len(bench.files)} articles, {indexed.label}, {count} passages of {length:.0f} characters on average. "
        "hit@k / MRR@10: a `qa search` passage from the gold article overlapping the answer span; "
        "quote@k: a `qa ask` citation (k=3) overlapping it; declined: share of questions `qa ask` declined.\n\n"
        + table(rows)
    )


def run_squad(emb: CachingEmbedder, split: str, quick: bool, root: Path, selector: str) -> str:
    """SQuAD 2.0 half: decline quality for unanswerable and off-topic questions."""
    bench = load_squad(root)
    articles = range(1, 5) if split == "dev" else range(5, 17)
    questions = [q for q in bench.questions if q.group in articles]
    covid = load_covidqa(root).questions
    off_topic = [q for q in covid if split == "test" or q.group % 2 == 1]
    if quick:
        questions, off_topic = questions[:150], off_topic[:50]
    indexed = open_indexed(bench, emb, selector=selector)
    rows_a, rows_b = decline.squad(indexed, questions, [Question(q.id, q.text) for q in off_topic], MODES)
    return (
        f"Articles {articles.start}-{articles.stop - 1} ({len(questions)} questions), corpus of all 16 articles. "
        "AUC: ROC AUC of `confidence` separating answerable from the others; decline P/R: precision and "
        "recall of the shipped decline threshold at declining the others; answered / quote hit / quote@1: share "
        "of answerable questions answered / with a citation (of 3) overlapping a gold answer / whose first one "
        "does.\n\n"
        f"(a) answerable vs unanswerable\n\n{table(rows_a)}\n\n"
        f"(b) answerable vs off-topic ({len(off_topic)} COVID-QA questions)\n\n{table(rows_b)}"
    )


def run_medquad(emb: CachingEmbedder, split: str, quick: bool, root: Path, selector: str) -> str:
    """MedQuAD: hemifacial spasm questions on the default corpus, and uncovered conditions that should be declined."""
    covered, uncovered = decline.medquad_questions(load_medquad(root))
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(DEFAULT_CORPUS.iterdir()) if p.is_file()}
    indexed = open_indexed(Benchmark("default-corpus", files, []), emb, selector=selector)
    rows, shown = decline.medquad(indexed, covered, uncovered, MODES)
    answers = []
    for question, asked in shown["hybrid"]:
        said = "(declined)" if asked.declined else f"“{' '.join(asked.quote.split())[:300]}”"
        answers.append(f"- **{question}** (confidence {asked.confidence:.2f}) {said}")
    return (
        f"{len(covered)} NINDS hemifacial spasm questions (covered) and {len(uncovered)} distinct questions on "
        f"{' and '.join(decline.UNCOVERED_FOCUS)} (not covered by `corpus/`).\n\n{table(rows)}\n\n"
        "First quote of each hemifacial spasm answer (hybrid):\n\n" + "\n".join(answers)
    )


RUNNERS: dict[str, Callable[[CachingEmbedder, str, bool, Path, str], str]] = {
    "scifact": run_scifact,
    "covidqa": run_covidqa,
    "squad": run_squad,
    "medquad": run_medquad,
}
TITLES = {
    "scifact": "SciFact (BEIR)",
    "covidqa": "COVID-QA",
    "squad": "SQuAD 2.0 half: declining",
    "medquad": "MedQuAD on the default corpus",
}


def main(argv: list[str] | None = None) -> None:
    """Run the answer-quality benchmarks and print (and record) their tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="A small subset of each benchmark (printed, not written to the docs)."
    )
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="Comma-separated benchmarks to run.")
    parser.add_argument("--split", choices=["dev", "test"], default="test", help="Tune on dev, report on test.")
    parser.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    parser.add_argument("--no-write", action="store_true", help="Print the tables without updating docs/QUALITY.md.")
    parser.add_argument(
        "--whole-abstracts", action="store_true", help="SciFact also with each abstract as one passage (slow)."
    )
    parser.add_argument(
        "--selector",
        default=Settings().selector,
        help="The answer selector: shipped, a folder made by `make train`, or none (the hand-weighted scorer).",
    )
    parser.add_argument("--model", help="Another sentence-transformers model folder than the bundled MiniLM.")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"--only: unknown benchmark(s): {', '.join(sorted(unknown))}")
    command = "python -m bench.quality " + shlex.join(sys.argv[1:] if argv is None else argv)
    emb = model_embedder(OUT_DIR, model=args.model)
    for name in chosen:
        started = time.monotonic()
        if name == "scifact":
            body = run_scifact(emb, args.split, args.quick, args.bench_dir, args.selector, args.whole_abstracts)
        else:
            body = RUNNERS[name](emb, args.split, args.quick, args.bench_dir, args.selector)
        emb.save()
        title = f"{TITLES[name]} — {args.split} split" + (" (quick subset)" if args.quick else "")
        shipped = args.selector == Settings().selector
        title += "" if shipped else f" (selector: {args.selector})"
        title += f" (model: {args.model})" if args.model else ""
        section = _section(title, command.strip(), [body])
        print(f"\n{section}\n\n({time.monotonic() - started:.0f} s)", flush=True)
        if not args.quick and not args.no_write:
            variant = ("" if shipped else f":selector={args.selector}") + (f":model={args.model}" if args.model else "")
            write_section(f"{name}:{args.split}{variant}", section)


if __name__ == "__main__":
    main()
