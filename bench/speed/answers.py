"""Answers to a question file as JSON, to show that a speed change leaves every answer as it was.

Usage: python -m bench.speed.answers QUESTIONS.jsonl OUT.json [--corpus DIR --index DIR]
Compare two runs (before and after a change) with `cmp`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.config import Settings
from qa.service import QAService


def answers(service: QAService, questions: list[str]) -> list[dict]:
    """QAService.ask of each question, as the API returns it (without the build-specific index version)."""
    out = []
    for q in questions:
        answer = service.ask(q).to_dict()
        answer.pop("index_version")
        out.append(answer)
    return out


def main(argv: list[str] | None = None) -> None:
    """Write the answers of every question in a JSONL file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--index", type=Path, default=Path("index"))
    args = parser.parse_args(argv)
    service = QAService(Settings.from_env(corpus_dir=args.corpus, index_dir=args.index))
    service.ensure_index()
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    args.out.write_text(json.dumps(answers(service, questions), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
