"""How well `qa ask` declines: SQuAD 2.0 unanswerable and off-topic questions, and MedQuAD on the default corpus."""

from __future__ import annotations

from dataclasses import dataclass

from bench.common.data import Question
from bench.common.harness import Indexed
from bench.common.metrics import first_hit, mean, overlaps, precision_recall, roc_auc
from bench.common.report import Row

UNCOVERED_FOCUS = ("Bell's palsy", "Trigeminal neuralgia")


@dataclass
class Asked:
    """The parts of an answer the decline metrics need."""

    confidence: float
    declined: bool
    quote_hit: bool  # a citation (of up to 3) overlaps a gold answer
    first_hit: bool  # the first citation does (quote@1)
    quote: str


def ask_all(indexed: Indexed, questions: list[Question], mode: str) -> list[Asked]:
    """Ask every question through QAService.ask."""
    out = []
    for q in questions:
        answer = indexed.service.ask(q.text, k=3, mode=mode)
        flags = [c.doc_id in q.gold and overlaps(c.start, c.end, q.gold[c.doc_id]) for c in answer.citations]
        quote = answer.citations[0].quote if answer.citations else ""
        rank = first_hit(flags)
        out.append(Asked(answer.confidence, answer.abstained, rank is not None, rank == 1, quote))
    return out


def _separation(answerable: list[Asked], other: list[Asked]) -> dict[str, float]:
    """ROC AUC of confidence for answerable-vs-other, and precision/recall of declining the other ones."""
    everyone = answerable + other
    is_other = [False] * len(answerable) + [True] * len(other)
    precision, recall = precision_recall([a.declined for a in everyone], is_other)
    return {
        "AUC": roc_auc([a.confidence for a in everyone], [not o for o in is_other]),
        "decline P": precision,
        "decline R": recall,
    }


def squad(
    indexed: Indexed, questions: list[Question], off_topic: list[Question], modes: tuple[str, ...]
) -> tuple[list[Row], list[Row]]:
    """Rows for (a) answerable vs unanswerable and (b) answerable vs off-topic, per mode."""
    indexed.prime([q.text for q in questions + off_topic])
    answerable_q = [q for q in questions if q.gold]
    unanswerable_q = [q for q in questions if not q.gold]
    rows_a, rows_b = [], []
    for mode in modes:
        answerable = ask_all(indexed, answerable_q, mode)
        unanswerable = ask_all(indexed, unanswerable_q, mode)
        foreign = ask_all(indexed, off_topic, mode)
        common = {
            "answered": mean([not a.declined for a in answerable]),
            "quote hit": mean([a.quote_hit for a in answerable]),
            "quote@1": mean([a.first_hit for a in answerable]),
        }
        rows_a.append(
            Row(
                mode,
                len(answerable) + len(unanswerable),
                {**_separation(answerable, unanswerable), **common},
            )
        )
        rows_b.append(Row(mode, len(answerable) + len(foreign), {**_separation(answerable, foreign), **common}))
    return rows_a, rows_b


def medquad_questions(rows: list[dict]) -> tuple[list[Question], list[Question]]:
    """The NINDS hemifacial spasm questions, and distinct questions about conditions the default corpus lacks."""
    covered = [
        Question(r["id"], r["question"])
        for r in rows
        if r["source"] == "NINDS" and r["focus"].casefold() == "hemifacial spasm"
    ]
    uncovered = {r["question"]: Question(r["id"], r["question"]) for r in rows if r["focus"] in UNCOVERED_FOCUS}
    return covered, list(uncovered.values())


def medquad(
    indexed: Indexed, covered: list[Question], uncovered: list[Question], modes: tuple[str, ...]
) -> tuple[list[Row], dict[str, list[tuple[str, Asked]]]]:
    """Answer rate on the covered questions and decline rate on the uncovered ones; the answers themselves."""
    indexed.prime([q.text for q in covered + uncovered])
    rows, shown = [], {}
    for mode in modes:
        on = ask_all(indexed, covered, mode)
        off = ask_all(indexed, uncovered, mode)
        rows.append(
            Row(
                mode,
                len(on) + len(off),
                {
                    "answered (covered)": mean([not a.declined for a in on]),
                    "declined (uncovered)": mean([a.declined for a in off]),
                    "AUC": roc_auc([a.confidence for a in on + off], [True] * len(on) + [False] * len(off)),
                },
            )
        )
        shown[mode] = [(q.text, a) for q, a in zip(covered, on, strict=True)]
    return rows, shown
