"""`qa eval`: hit@k, declines and misses over a question file like shared/eval/dev.jsonl."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QAError


def fold(text: str) -> str:
    """Case and whitespace folded, for answer matching."""
    return " ".join(text.casefold().split())


@dataclass
class EvalItem:
    """One question of an eval file."""

    id: str
    question: str
    answers: list[str]
    history: list[str] = field(default_factory=list)


@dataclass
class EvalReport:
    """Aggregate results and each miss."""

    questions: int = 0
    in_scope: int = 0
    out_of_scope: int = 0
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    declined_out_of_scope: float = 0.0
    falsely_declined: int = 0
    misses: list[dict] = field(default_factory=list)


def read_items(path: Path) -> list[EvalItem]:
    """Questions from a JSON-lines file; QAError naming the line when one is malformed."""
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QAError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(
                EvalItem(
                    str(row.get("id", n)),
                    row["question"],
                    list(row.get("answers") or []),
                    list(row.get("history") or []),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise QAError(f"{path}:{n}: not a question object ({exc})") from exc
    return items


def hit_rank(answers: list[str], quotes: list[str]) -> int | None:
    """1-based rank of the first quote containing an accepted answer, or None."""
    wanted = [fold(a) for a in answers]
    for rank, quote in enumerate(quotes, 1):
        q = fold(quote)
        if any(a in q for a in wanted):
            return rank
    return None


def evaluate(service, items: list[EvalItem], k: int = 3) -> EvalReport:
    """Ask every question through the service and score the quotes."""
    report = EvalReport(questions=len(items))
    hits1 = hits3 = declined_oos = 0
    for item in items:
        answer = service.ask(item.question, item.history or None, k=k)
        quotes = [c.quote for c in answer.citations]
        if not item.answers:
            report.out_of_scope += 1
            if answer.abstained:
                declined_oos += 1
            else:
                report.misses.append(
                    {
                        "id": item.id,
                        "question": item.question,
                        "problem": "answered out-of-scope",
                        "quote": quotes[0] if quotes else "",
                        "confidence": answer.confidence,
                    }
                )
            continue
        report.in_scope += 1
        rank = hit_rank(item.answers, quotes)
        hits1 += rank == 1
        hits3 += rank is not None and rank <= 3
        if answer.abstained:
            report.falsely_declined += 1
        if rank != 1:
            report.misses.append(
                {
                    "id": item.id,
                    "question": item.question,
                    "search_query": answer.search_query,
                    "problem": "declined" if answer.abstained else f"answer at rank {rank}",
                    "quote": quotes[0] if quotes else "",
                    "confidence": answer.confidence,
                }
            )
    report.hit_at_1 = round(hits1 / report.in_scope, 4) if report.in_scope else 0.0
    report.hit_at_3 = round(hits3 / report.in_scope, 4) if report.in_scope else 0.0
    report.declined_out_of_scope = round(declined_oos / report.out_of_scope, 4) if report.out_of_scope else 0.0
    return report
